// One conversation: join, send (chat, e-mail or internal note), attach, shortcuts, typing,
// resolve / reopen, mark unread, assign, transcript, block the visitor.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, fileBody, multipart, ok, type Agent, type Message, type Schemas } from "../api/client";
import { navigate } from "../router";
import {
  addMessages, attempt, isTyping, loadConversation, loadCounts, loadMessages,
  messagesOf, sendFrame, useStore,
} from "../store";
import { Link, Screen, when } from "./common";

type Attachment = Schemas["AttachmentOut"];

export function ConversationView({ id, back }: { id: string; back: string }) {
  const { me, conversations } = useStore();
  const conversation = conversations.get(id);
  const messages = messagesOf(id);
  const path = { conversation_id: id };
  const log = useRef<HTMLOListElement>(null);

  useEffect(() => {
    void attempt(async () => {
      await Promise.all([loadConversation(id), loadMessages(id)]);
    });
  }, [id]);
  // Seen while open: read.
  const unread = conversation ? conversation.unread_count > 0 || conversation.marked_unread : false;
  useEffect(() => {
    if (unread && document.visibilityState === "visible") {
      void attempt(async () => {
        await ok(api.POST("/api/v1/conversations/{conversation_id}/read", { params: { path } }));
        await Promise.all([loadConversation(id), loadCounts()]);
      });
    }
  }, [unread, messages.length]);
  useEffect(() => log.current?.lastElementChild?.scrollIntoView({ block: "end" }), [messages.length]);

  if (!conversation) return <Screen title="Conversation" back={back}><p role="status">Loading…</p></Screen>;
  const joined = !!me && conversation.agent_ids.includes(me.id);
  const open = conversation.status === "open";

  const act = (action: () => Promise<unknown>) => () =>
    void attempt(async () => {
      await action();
      await Promise.all([loadConversation(id), loadCounts()]);
    });

  return (
    <Screen
      title={conversation.visitor.name || conversation.visitor.email || "Visitor"}
      back={back}
      actions={<>
        <Link to={`/visitors/${conversation.visitor_id}`} class="button">Details</Link>
        {open
          ? <button class="ok" onClick={act(() => ok(api.POST("/api/v1/conversations/{conversation_id}/resolve", { params: { path } })))}>Resolve ✓</button>
          : <button onClick={act(() => ok(api.POST("/api/v1/conversations/{conversation_id}/reopen", { params: { path } })))}>Reopen</button>}
        <MoreMenu id={id} visitorId={conversation.visitor_id} assignee={conversation.assignee_id} />
      </>}
    >
      <p class="muted meta">
        {conversation.channel === "chat" ? "Chat" : conversation.channel} · started {when(conversation.created_at)}
        {conversation.assignee && <> · assigned to {conversation.assignee.name}</>}
        {!open && <> · resolved</>}
      </p>
      <ol class="log" ref={log} aria-label="Messages" aria-live="polite">
        {messages.map((m) => <MessageItem key={m.id} message={m} />)}
      </ol>
      {isTyping(id) && <p class="typing" role="status">Visitor is typing…</p>}
      {open && !joined && (
        <button class="primary wide" onClick={act(() => ok(api.POST("/api/v1/conversations/{conversation_id}/join", { params: { path } })))}>
          Join the conversation
        </button>
      )}
      <Composer id={id} hasEmail={!!conversation.visitor.email} />
    </Screen>
  );
}

function MessageItem({ message: m }: { message: Message }) {
  const attachments = (m.attachments ?? []) as Attachment[];
  return (
    <li class={`msg ${m.author_type}${m.internal ? " note" : ""}`}>
      <span class="who">
        {m.internal ? "Note · " : ""}{m.author_name || m.author_type}{m.channel === "email" ? " · e-mail" : ""} · {when(m.created_at)}
      </span>
      {m.text && <span class="text">{m.text}</span>}
      {attachments.map((a) => (
        <button key={a.id} class="attachment link" onClick={() => void attempt(() => download(a))}>Attachment: {a.name}</button>
      ))}
    </li>
  );
}

async function download(a: Attachment): Promise<void> {
  const blob = await ok(api.GET("/api/v1/attachments/{attachment_id}", {
    params: { path: { attachment_id: a.id } }, parseAs: "blob",
  })) as Blob;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = a.name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function Composer({ id, hasEmail }: { id: string; hasEmail: boolean }) {
  const [text, setText] = useState("");
  const [channel, setChannel] = useState<"chat" | "email">("chat");
  const [internal, setInternal] = useState(false);
  const [files, setFiles] = useState<Attachment[]>([]);
  const [shortcuts, setShortcuts] = useState<Schemas["ShortcutOut"][] | null>(null);
  const [busy, setBusy] = useState(false);
  const lastTyping = useRef(0);

  function typing(value: string) {
    setText(value);
    const now = Date.now();
    if (!internal && value && now - lastTyping.current > 2000) {
      lastTyping.current = now;
      sendFrame({ type: "typing", conversation_id: id, is_typing: true });
    }
  }

  async function send(event?: Event) {
    event?.preventDefault();
    if (!text.trim() && files.length === 0) return;
    setBusy(true);
    const sent = await attempt(() => ok(api.POST("/api/v1/conversations/{conversation_id}/messages", {
      params: { path: { conversation_id: id } },
      body: {
        text, channel, internal, attachment_ids: files.map((f) => f.id),
        client_message_id: crypto.randomUUID(),
      },
    })));
    setBusy(false);
    if (sent) {
      addMessages(id, [sent]);
      setText("");
      setFiles([]);
      lastTyping.current = 0;
      sendFrame({ type: "typing", conversation_id: id, is_typing: false });
      void attempt(() => loadConversation(id));
    }
  }

  async function attach(event: Event) {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    const uploaded = await attempt(() => ok(api.POST("/api/v1/attachments", { body: fileBody(file) as never, ...multipart })));
    if (uploaded) setFiles((f) => [...f, uploaded]);
  }

  async function pickShortcut() {
    if (shortcuts) return setShortcuts(null);
    const list = await attempt(() => ok(api.GET("/api/v1/shortcuts")));
    if (list) setShortcuts(list.items);
  }

  return (
    <form class={`composer${internal ? " note" : ""}`} onSubmit={send}>
      {shortcuts && (
        <ul class="shortcuts" aria-label="Shortcuts">
          {shortcuts.length === 0 && <li class="muted">No shortcuts yet: add them in Settings.</li>}
          {shortcuts.map((s) => (
            <li key={s.id}>
              <button type="button" class="link" onClick={() => { typing(text ? `${text} ${s.text}` : s.text); setShortcuts(null); }}>
                /{s.name}: {s.text}
              </button>
            </li>
          ))}
        </ul>
      )}
      {files.length > 0 && <p class="muted">Attached: {files.map((f) => f.name).join(", ")}</p>}
      <label class="sr-only" for="compose">Message</label>
      <textarea id="compose" rows={2} value={text} placeholder={internal ? "Internal note (agents only)" : "Type a message"}
        onInput={(e) => typing((e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => { if (e.key === "Enter" && !e.shiftKey) void send(e); }}
        onBlur={() => sendFrame({ type: "typing", conversation_id: id, is_typing: false })} />
      <div class="composer-bar">
        <label class="sr-only" for="channel">Reply by</label>
        <select id="channel" value={channel} disabled={internal}
          onChange={(e) => setChannel((e.currentTarget as HTMLSelectElement).value as "chat")}>
          <option value="chat">Chat</option>
          <option value="email" disabled={!hasEmail}>E-mail</option>
        </select>
        <label class="check"><input type="checkbox" checked={internal} onChange={(e) => setInternal((e.currentTarget as HTMLInputElement).checked)} /> Note</label>
        <label class="button file">File<span class="sr-only">: attach a file</span><input type="file" onChange={attach} /></label>
        <button type="button" onClick={() => void pickShortcut()} aria-label="Insert a shortcut">⚡</button>
        <button class="primary" disabled={busy}>Send</button>
      </div>
    </form>
  );
}

function MoreMenu({ id, visitorId, assignee }: { id: string; visitorId: string; assignee: string | null }) {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [panel, setPanel] = useState<"" | "assign" | "transcript">("");
  const path = { conversation_id: id };

  async function run(action: () => Promise<unknown>) {
    if ((await attempt(action)) !== undefined) {
      setPanel("");
      await attempt(() => loadConversation(id));
    }
  }

  // Back to the list first: a conversation on screen marks itself read.
  function markUnread() {
    navigate("/conversations");
    void attempt(async () => {
      await ok(api.POST("/api/v1/conversations/{conversation_id}/unread", { params: { path } }));
      await Promise.all([loadConversation(id), loadCounts()]);
    });
  }

  async function openAssign() {
    setPanel("assign");
    const list = await attempt(() => ok(api.GET("/api/v1/agents")));
    if (list) setAgents(list.items);
  }

  return (
    <details class="more">
      <summary aria-label="More actions">⋯</summary>
      <div class="menu">
        <button class="link" onClick={markUnread}>Mark as unread</button>
        <button class="link" onClick={() => void openAssign()}>Assign…</button>
        {panel === "assign" && agents && (
          <ul aria-label="Agents">
            {agents.map((a) => (
              <li key={a.id}>
                <button class="link" disabled={a.id === assignee} onClick={() => void run(
                  () => ok(api.POST("/api/v1/conversations/{conversation_id}/assign", { params: { path }, body: { agent_id: a.id } })))}>
                  {a.name} ({a.status})
                </button>
              </li>
            ))}
          </ul>
        )}
        <button class="link" onClick={() => setPanel(panel === "transcript" ? "" : "transcript")}>Send transcript…</button>
        {panel === "transcript" && (
          <form onSubmit={(e) => {
            e.preventDefault();
            const email = new FormData(e.currentTarget as HTMLFormElement).get("email") as string;
            void run(() => ok(api.POST("/api/v1/conversations/{conversation_id}/transcript", { params: { path }, body: { email } })));
          }}>
            <label>E-mail<input name="email" type="email" required /></label>
            <button>Send</button>
          </form>
        )}
        <button class="link danger" onClick={() => void run(
          () => ok(api.POST("/api/v1/visitors/{visitor_id}/block", { params: { path: { visitor_id: visitorId } } })))}>
          Block the visitor
        </button>
      </div>
    </details>
  );
}
