// Visitors: the active ones, live; a visitor's details, browsing history, edit, block, contact.
import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas, type Visitor } from "../api/client";
import { navigate } from "../router";
import { attempt, loadVisitors, useStore } from "../store";
import { Empty, Link, Screen, when } from "./common";
import { Form } from "./Form";

export function VisitorList({ selected }: { selected?: string }) {
  const { visitors } = useStore();
  useEffect(() => void attempt(loadVisitors), []);
  return (
    <Screen title="Visitors">
      {visitors.length === 0 && <Empty>Nobody is on your website right now.</Empty>}
      <ul class="rows" aria-label="Active visitors">
        {visitors.map((v) => (
          <li key={v.id} class={v.id === selected ? "selected" : ""}>
            <Link to={`/visitors/${v.id}`} class="row">
              <span class="row-main">
                <strong>{v.display_name}</strong>
                <span class="muted">{v.current_page?.title || v.current_page?.url || ""}</span>
              </span>
              <span class="row-side muted">
                {v.chatting && <span class="tag">chatting</span>}
                {v.blocked && <span class="tag danger">blocked</span>}
                {[v.device.type, v.country].filter(Boolean).join(" · ")}
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </Screen>
  );
}

const VISITOR_FIELDS = [
  { name: "name", label: "Name" },
  { name: "email", label: "E-mail", type: "email" },
  { name: "phone", label: "Phone" },
  { name: "note", label: "Note", type: "textarea" },
] as const;

export function VisitorDetail({ id }: { id: string }) {
  const [visitor, setVisitor] = useState<Visitor | null>(null);
  const [views, setViews] = useState<Schemas["PageViewOut"][]>([]);
  const [editing, setEditing] = useState(false);
  const { visitors } = useStore();
  const path = { visitor_id: id };

  async function load() {
    const [v, pages] = await Promise.all([
      ok(api.GET("/api/v1/visitors/{visitor_id}", { params: { path } })),
      ok(api.GET("/api/v1/visitors/{visitor_id}/page-views", { params: { path, query: { limit: 50 } } })),
    ]);
    setVisitor(v);
    setViews(pages.items);
  }
  // Reloaded when the live list changes (a new page, an edit, a block from elsewhere).
  const live = visitors.find((v) => v.id === id);
  useEffect(() => void attempt(load), [id, live?.current_page?.url, live?.blocked, live?.display_name]);

  if (!visitor) return <Screen title="Visitor" back="/visitors"><p role="status">Loading…</p></Screen>;

  async function contact(event: Event) {
    event.preventDefault();
    const text = (new FormData(event.currentTarget as HTMLFormElement).get("text") as string) || null;
    const conversation = await attempt(() => ok(api.POST("/api/v1/visitors/{visitor_id}/conversations", { params: { path }, body: { text } })));
    if (conversation) navigate(`/conversations/${conversation.id}`);
  }

  const block = () => void attempt(async () => {
    if (visitor.blocked) await ok(api.DELETE("/api/v1/visitors/{visitor_id}/block", { params: { path } }));
    else await ok(api.POST("/api/v1/visitors/{visitor_id}/block", { params: { path } }));
    await load();
  });

  return (
    <Screen title={visitor.display_name} back="/visitors"
      actions={<>
        <button onClick={() => setEditing(!editing)}>{editing ? "Done" : "Edit"}</button>
        <button class="danger" onClick={block}>{visitor.blocked ? "Unblock" : "Block"}</button>
      </>}>
      {editing ? (
        <Form
          title="Edit visitor"
          fields={VISITOR_FIELDS}
          load={async () => visitor}
          save={async (body) => {
            const saved = await ok(api.PATCH("/api/v1/visitors/{visitor_id}", { params: { path }, body }));
            setVisitor(saved);
            return saved;
          }}
        />
      ) : (
        <dl class="facts">
          <dt>E-mail</dt><dd>{visitor.email || "—"}</dd>
          <dt>Phone</dt><dd>{visitor.phone || "—"}</dd>
          <dt>Note</dt><dd>{visitor.note || "—"}</dd>
          <dt>Now on</dt><dd>{visitor.active ? (visitor.current_page?.title || visitor.current_page?.url) : "Not on the site"}</dd>
          <dt>Visits</dt><dd>{visitor.visits}{visitor.returning ? " (returning)" : ""}</dd>
          <dt>Device</dt><dd>{[visitor.device.browser, visitor.device.os, visitor.device.type].filter(Boolean).join(", ") || "—"}</dd>
          <dt>Location</dt><dd>{visitor.country || "—"}</dd>
          <dt>Referrer</dt><dd>{visitor.referrer || "—"}</dd>
          <dt>First seen</dt><dd>{when(visitor.first_seen_at)}</dd>
          {visitor.blocked && <><dt>Blocked</dt><dd>{when(visitor.blocked_at)}</dd></>}
        </dl>
      )}
      {visitor.active && !visitor.blocked && (
        <form class="inline" onSubmit={contact}>
          <label>Contact this visitor<input name="text" placeholder="Hi! Can I help you?" /></label>
          <button class="primary">Contact</button>
        </form>
      )}
      <h2>Browsing history</h2>
      <ol class="history" aria-label="Browsing history">
        {views.map((p) => (
          <li key={p.id}><span>{p.title || p.url}</span> <span class="muted">{when(p.viewed_at)}</span><br /><span class="muted url">{p.url}</span></li>
        ))}
      </ol>
    </Screen>
  );
}
