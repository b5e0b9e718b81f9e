// GET /api/v1/stream from a browser: a single-use ticket, then the socket. Resumes from the
// last event it handed on (?since=<seq>&epoch=<epoch>) after a drop, when the page becomes
// visible again or the network comes back; a `reset` frame means "refetch over REST".
import { api, ok } from "./client";

export type StreamEvent = {
  type: "event";
  seq: number;
  epoch: string;
  event: string;
  id?: string;
  data: Record<string, any>;
};
export type TypingFrame = {
  type: "typing";
  conversation_id: string | null;
  author_type: string;
  author_id: string;
  is_typing: boolean;
};

export type StreamHandlers = {
  event: (frame: StreamEvent) => void;
  typing: (frame: TypingFrame) => void;
  reset: () => void;
  connected: (live: boolean) => void;
};

export class LiveStream {
  private ws: WebSocket | null = null;
  private retry = 0;
  private timer: number | undefined;
  private stopped = false;
  private pinger: number | undefined;
  private lastFrame = 0;

  constructor(
    private position: { seq: number; epoch: string },
    private handlers: StreamHandlers,
  ) {
    document.addEventListener("visibilitychange", this.wake);
    window.addEventListener("online", this.wake);
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.wake);
    window.removeEventListener("online", this.wake);
    this.ws?.close(1000);
  }

  send(frame: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private wake = (): void => {
    if (document.visibilityState !== "visible" || this.stopped) return;
    // Back from the background: a socket silent for this long may be dead without knowing it.
    // Dropping it costs nothing: the next one resumes from the last event handled.
    if (this.ws?.readyState === WebSocket.OPEN && Date.now() - this.lastFrame > 30_000) this.ws.close();
    if (!this.ws || this.ws.readyState > WebSocket.OPEN) {
      clearTimeout(this.timer);
      this.retry = 0;
      void this.connect();
    }
  };

  private async connect(): Promise<void> {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    let ticket: string;
    try {
      ticket = (await ok(api.POST("/api/v1/stream/tickets"))).ticket;
    } catch {
      this.later();
      return;
    }
    const { seq, epoch } = this.position;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ ticket, since: String(seq), epoch });
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/stream?${query}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.lastFrame = Date.now();
      this.handlers.connected(true);
      // A socket whose network went away may never say so: ping, and give up on silence.
      this.pinger = window.setInterval(() => {
        if (Date.now() - this.lastFrame > 45_000) ws.close();
        else this.send({ type: "ping" });
      }, 20_000);
    };
    ws.onmessage = (msg) => {
      this.lastFrame = Date.now();
      this.receive(JSON.parse(msg.data));
    };
    ws.onclose = () => {
      clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.ws = null;
      this.handlers.connected(false);
      this.later();
    };
  }

  private later(): void {
    if (this.stopped) return;
    const delay = Math.min(10_000, 500 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
    this.timer = window.setTimeout(() => void this.connect(), delay);
  }

  private receive(frame: any): void {
    if (frame.type === "event") {
      // Never the same event twice, whatever the network did.
      if (frame.epoch === this.position.epoch && frame.seq <= this.position.seq) return;
      this.position = { seq: frame.seq, epoch: frame.epoch };
      this.handlers.event(frame);
    } else if (frame.type === "reset") {
      this.position = { seq: frame.seq, epoch: frame.epoch };
      this.handlers.reset();
    } else if (frame.type === "hello" && frame.epoch !== this.position.epoch) {
      this.position = { seq: frame.seq, epoch: frame.epoch };
      this.handlers.reset();
    } else if (frame.type === "typing") {
      this.handlers.typing(frame);
    }
  }
}
