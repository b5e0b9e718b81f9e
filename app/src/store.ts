// The app's live state: what GET /api/v1/boot gave, kept current by the stream. Conversations,
// messages and visitors are keyed by id, so an event seen twice or a refetch that overlaps
// what the stream brought can never show anything twice.
import { useEffect, useState } from "preact/hooks";
import {
  api,
  ok,
  type ActiveVisitor,
  type Agent,
  type Conversation,
  type Message,
  type Schemas,
} from "./api/client";
import { LiveStream, type StreamEvent, type TypingFrame } from "./api/stream";

type Counts = Schemas["BootCounts"];

export const state = {
  me: null as Agent | null,
  account: null as Schemas["AccountOut"] | null,
  counts: null as Counts | null,
  conversations: new Map<string, Conversation>(),
  messages: new Map<string, Map<string, Message>>(),
  typing: new Map<string, number>(), // conversation id → until (ms)
  visitors: [] as ActiveVisitor[],
  live: false,
  problem: "" as string,
};

let version = 0;
const listeners = new Set<() => void>();

export function changed(): void {
  version++;
  listeners.forEach((fn) => fn());
}

/** Re-render the calling component whenever the state changes. */
export function useStore(): typeof state {
  const [, setVersion] = useState(version);
  useEffect(() => {
    const fn = () => setVersion(version);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return state;
}

export function showProblem(err: unknown): void {
  state.problem = err instanceof Error ? err.message : String(err);
  changed();
}

/** Run an action; its problem (if any) is shown by its title, nothing is thrown. */
export async function attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    const result = await action();
    if (state.problem) {
      state.problem = "";
      changed();
    }
    return result;
  } catch (err) {
    showProblem(err);
    return undefined;
  }
}

let stream: LiveStream | null = null;

export async function boot(): Promise<void> {
  const data = await ok(api.GET("/api/v1/boot"));
  state.me = data.agent as Agent;
  state.account = data.account as Schemas["AccountOut"];
  state.counts = data.counts;
  state.conversations.clear();
  upsertConversations((data.conversations as Schemas["ConversationPage"]).items);
  changed();
  stream?.stop();
  stream = new LiveStream(data.stream, {
    event: onEvent,
    typing: onTyping,
    reset: () => void attempt(refetchAll),
    connected: (live) => {
      state.live = live;
      changed();
    },
  });
  stream.start();
  void attempt(loadVisitors);
}

export function shutdown(): void {
  stream?.stop();
  stream = null;
  state.me = null;
  state.conversations.clear();
  state.messages.clear();
  state.visitors = [];
}

export function sendFrame(frame: object): void {
  stream?.send(frame);
}

function upsertConversations(items: Conversation[]): void {
  for (const c of items) state.conversations.set(c.id, c);
}

export function conversationsWith(status: "open" | "resolved"): Conversation[] {
  return [...state.conversations.values()]
    .filter((c) => c.status === status)
    .sort((a, b) => b.last_activity_at.localeCompare(a.last_activity_at));
}

export async function loadConversations(status: "open" | "resolved"): Promise<void> {
  const page = await ok(api.GET("/api/v1/conversations", { params: { query: { status, limit: 50 } } }));
  upsertConversations(page.items);
  changed();
}

export async function loadConversation(id: string): Promise<void> {
  state.conversations.set(id, await ok(api.GET("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } })));
  changed();
}

export async function loadCounts(): Promise<void> {
  const counts = await ok(api.GET("/api/v1/conversations/counts"));
  state.counts = { ...(state.counts ?? { active_visitors: 0 }), ...counts } as Counts;
  changed();
}

export function messagesOf(id: string): Message[] {
  return [...(state.messages.get(id)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
}

export function addMessages(id: string, items: Message[]): void {
  const known = state.messages.get(id) ?? new Map<string, Message>();
  for (const m of items) known.set(m.id, m);
  state.messages.set(id, known);
  changed();
}

export async function loadMessages(id: string): Promise<void> {
  const page = await ok(api.GET("/api/v1/conversations/{conversation_id}/messages", {
    params: { path: { conversation_id: id }, query: { limit: 100 } },
  }));
  addMessages(id, page.items);
}

export async function loadVisitors(): Promise<void> {
  const page = await ok(api.GET("/api/v1/visitors", { params: { query: { state: "active", limit: 100 } } }));
  state.visitors = page.items as ActiveVisitor[]; // state=active: the active shape
  if (state.counts) state.counts = { ...state.counts, active_visitors: page.items.length };
  changed();
}

/** Every message newer than the newest one shown (oldest first, page after page). */
export async function catchUp(id: string): Promise<void> {
  for (;;) {
    const since = Math.max(0, ...messagesOf(id).map((m) => m.seq));
    const page = await ok(api.GET("/api/v1/conversations/{conversation_id}/messages", {
      params: { path: { conversation_id: id }, query: { since, limit: 100 } },
    }));
    addMessages(id, page.items);
    if (page.items.length < 100) return;
  }
}

async function refetchAll(): Promise<void> {
  await Promise.all([loadConversations("open"), loadCounts(), loadVisitors()]);
  await Promise.all([...state.messages.keys()].map(catchUp));
}

// Several events in a burst make one refetch of the list they touch.
const pending = new Map<string, number>();
function soon(key: string, action: () => Promise<void>): void {
  if (pending.has(key)) return;
  pending.set(key, window.setTimeout(() => {
    pending.delete(key);
    void attempt(action);
  }, 150));
}

function onEvent(frame: StreamEvent): void {
  const data = frame.data;
  if (frame.event.startsWith("chat.")) {
    const id = data.conversation_id as string;
    soon(`conversation:${id}`, () => loadConversation(id));
    soon("counts", loadCounts);
    if (frame.event === "chat.message.created") {
      state.typing.delete(id);
      if (state.messages.has(id)) soon(`messages:${id}`, () => catchUp(id));
    }
  } else if (frame.event.startsWith("visitors.visitor.")) {
    soon("visitors", loadVisitors);
  } else if (frame.event.startsWith("auth.agent.") && state.me && data.agent_id === state.me.id) {
    soon("me", async () => {
      state.me = await ok(api.GET("/api/v1/me"));
      changed();
    });
  }
}

function onTyping(frame: TypingFrame): void {
  if (!frame.conversation_id || frame.author_type !== "visitor") return;
  if (frame.is_typing) state.typing.set(frame.conversation_id, Date.now() + 6000);
  else state.typing.delete(frame.conversation_id);
  changed();
  setTimeout(changed, 6100);
}

export function isTyping(id: string): boolean {
  return (state.typing.get(id) ?? 0) > Date.now();
}
