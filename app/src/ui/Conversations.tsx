// Conversations (open) and Resolved: live lists with unread badges.
import { useEffect } from "preact/hooks";
import { attempt, conversationsWith, isTyping, loadConversations, useStore } from "../store";
import { Badge, Empty, Link, Screen, when } from "./common";

export function ConversationList({ status, selected }: { status: "open" | "resolved"; selected?: string }) {
  useStore();
  useEffect(() => void attempt(() => loadConversations(status)), [status]);
  const items = conversationsWith(status);
  const base = status === "open" ? "/conversations" : "/resolved";
  return (
    <Screen
      title={status === "open" ? "Conversations" : "Resolved"}
      actions={status === "open"
        ? <Link to="/resolved" class="button">Resolved ✓</Link>
        : <Link to="/conversations" class="button">Open</Link>}
    >
      {items.length === 0 && <Empty>{status === "open" ? "No open conversations yet." : "Nothing resolved yet."}</Empty>}
      <ul class="rows" aria-label={status === "open" ? "Open conversations" : "Resolved conversations"}>
        {items.map((c) => (
          <li key={c.id} class={`${c.id === selected ? "selected" : ""} ${c.unread_count || c.marked_unread ? "unread" : ""}`}>
            <Link to={`${base}/${c.id}`} class="row">
              <span class="row-main">
                <strong>{c.visitor.name || c.visitor.email || "Visitor"}</strong>
                <span class="muted">
                  {isTyping(c.id) ? "typing…" : c.last_message.text || (c.channel === "email" ? "E-mail" : "")}
                </span>
              </span>
              <span class="row-side">
                <span class="muted">{when(c.last_activity_at)}</span>
                <Badge count={c.unread_count || (c.marked_unread ? 1 : 0)} label="unread" />
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </Screen>
  );
}
