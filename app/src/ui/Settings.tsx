// Settings, as in the brief: profile and chat status, the chat box (general, design, contact
// form, chat code and live demo), chatbots, automatic messages, shortcuts, Facebook,
// notifications, team, subscription, bug report, links, log out.
import { Fragment, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, fileBody, multipart, ok, type Schemas } from "../api/client";
import { attempt, changed, state, useStore } from "../store";
import { logOut } from "./App";
import { Link, Screen, when } from "./common";
import { CrudList } from "./CrudList";
import { Form, type Field } from "./Form";

const LANGUAGES = ["en", "cs", "sk", "de", "fr", "es", "it", "pt", "nl", "pl"];

// The GET/PATCH pairs, each one screen of the one generic form.
const FORMS = {
  profile: {
    title: "Profile", path: "/api/v1/me",
    fields: [{ name: "name", label: "Name" }, { name: "description", label: "Description", type: "textarea" }],
  },
  general: {
    title: "Chat box: general", path: "/api/v1/account/settings/general",
    fields: [
      { name: "language", label: "Chat box language", type: "select", options: LANGUAGES },
      { name: "timezone", label: "Timezone" },
      { name: "satisfaction_rating_enabled", label: "Ask for a satisfaction rating", type: "checkbox" },
      { name: "auto_assign", label: "Assign new conversations automatically", type: "checkbox" },
      { name: "auto_resolve_minutes", label: "Resolve idle conversations after (minutes)", type: "number" },
    ],
  },
  design: {
    title: "Chat box: design", path: "/api/v1/account/settings/design",
    fields: [
      { name: "color", label: "Color", type: "color" },
      { name: "button_theme", label: "Chat button", type: "select", options: ["bubble", "bar", "tab"] },
      { name: "position", label: "Position", type: "select", options: ["right", "left"] },
      { name: "show_agent_avatars", label: "Show agents' pictures", type: "checkbox" },
      { name: "texts.title", label: "Title" },
      { name: "texts.welcome", label: "Welcome message", type: "textarea" },
      { name: "texts.offline", label: "Offline message", type: "textarea" },
      { name: "texts.input_placeholder", label: "Input placeholder" },
      { name: "texts.button_label", label: "Button label" },
    ],
  },
  "contact-form": {
    title: "Chat box: contact form", path: "/api/v1/account/settings/contact-form",
    fields: [
      { name: "enabled", label: "Offer the contact form when nobody is online", type: "checkbox" },
      { name: "offline_text", label: "Text above the form", type: "textarea" },
    ],
  },
  notifications: {
    title: "Notifications", path: "/api/v1/me/notification-settings",
    fields: [
      { name: "new_message", label: "New messages", type: "checkbox" },
      { name: "new_visitor", label: "New visitors", type: "checkbox" },
      { name: "offline_notifications", label: "Notify me when I am offline", type: "checkbox" },
      { name: "email_notifications", label: "E-mail notifications", type: "checkbox" },
      { name: "sound", label: "Sound", type: "checkbox" },
    ],
  },
} satisfies Record<string, { title: string; path: "/api/v1/me" | `/api/v1/account/settings/${string}` | "/api/v1/me/notification-settings"; fields: Field[] }>;

const SECTIONS: [string, string][] = [
  ["profile", "Profile"], ["general", "Chat box: general"], ["design", "Chat box: design"],
  ["contact-form", "Chat box: contact form"], ["chat-code", "Chat code & live demo"],
  ["chatbots", "Chatbots"], ["automatic-messages", "Automatic messages"], ["shortcuts", "Shortcuts"],
  ["facebook", "Facebook page"], ["notifications", "Notifications"], ["team", "Team"],
  ["subscription", "Subscription"], ["bug-report", "Report a bug"], ["about", "Help, terms & privacy"],
];

export function Settings({ section }: { section?: string }) {
  if (!section) {
    return (
      <Screen title="Settings">
        <ul class="rows" aria-label="Settings">
          {SECTIONS.map(([key, label]) => <li key={key}><Link to={`/settings/${key}`} class="row">{label}</Link></li>)}
        </ul>
        <button class="wide danger" onClick={() => void attempt(logOut)}>Log out</button>
      </Screen>
    );
  }
  const title = SECTIONS.find(([key]) => key === section)?.[1] ?? "Settings";
  return <Screen title={title} back="/settings"><SettingsSection section={section} /></Screen>;
}

function SettingsSection({ section }: { section: string }) {
  if (section in FORMS) {
    const form = FORMS[section as keyof typeof FORMS];
    return (
      <>
        {section === "profile" && <ProfileExtras />}
        <Form key={section} title={form.title} fields={form.fields}
          load={() => ok(api.GET(form.path as "/api/v1/me"))}
          save={async (body) => {
            const saved = await ok(api.PATCH(form.path as "/api/v1/me", { body }));
            if (section === "profile") { state.me = saved; changed(); }
            return saved;
          }} />
        {section === "profile" && <Credentials />}
      </>
    );
  }
  switch (section) {
    case "chat-code": return <ChatCode />;
    case "shortcuts":
      return <CrudList<Schemas["ShortcutOut"]> what="shortcut"
        load={async () => (await ok(api.GET("/api/v1/shortcuts"))).items}
        label={(s) => <><strong>/{s.name}</strong> <span class="muted">{s.text}</span></>}
        create={(body) => ok(api.POST("/api/v1/shortcuts", { body: body as Schemas["ShortcutIn"] }))}
        remove={(s) => ok(api.DELETE("/api/v1/shortcuts/{shortcut_id}", { params: { path: { shortcut_id: s.id } } }))}
        fields={[{ name: "name", label: "Name" }, { name: "text", label: "Text", type: "textarea" }]} />;
    case "chatbots":
      return <CrudList<Schemas["ChatbotOut"]> what="chatbot"
        load={async () => (await ok(api.GET("/api/v1/chatbots"))).items}
        label={(b) => <><strong>{b.name}</strong> <span class="muted">{b.steps.length} steps · {b.trigger.type}</span></>}
        toggle={(b) => ok(api.PATCH("/api/v1/chatbots/{bot_id}", { params: { path: { bot_id: b.id } }, body: { enabled: !b.enabled } }))}
        create={(body) => ok(api.POST("/api/v1/chatbots", { body: {
          name: body.name, trigger: { type: "visitor_arrived" }, steps: [{ id: "start", message: body.message, goal: false }], enabled: true, delay_seconds: 0,
        } }))}
        remove={(b) => ok(api.DELETE("/api/v1/chatbots/{bot_id}", { params: { path: { bot_id: b.id } } }))}
        fields={[{ name: "name", label: "Name" }, { name: "message", label: "First message (when a visitor arrives)", type: "textarea" }]} />;
    case "automatic-messages":
      return <CrudList<Schemas["AutomaticMessageOut"]> what="automatic message"
        load={async () => (await ok(api.GET("/api/v1/automatic-messages"))).items}
        label={(m) => <><strong>{m.name}</strong> <span class="muted">{m.message}</span></>}
        toggle={(m) => ok(api.PATCH("/api/v1/automatic-messages/{bot_id}", { params: { path: { bot_id: m.id } }, body: { enabled: !m.enabled } }))}
        create={(body) => ok(api.POST("/api/v1/automatic-messages", { body: {
          name: body.name, message: body.message, trigger: { type: "time_on_page", seconds: Number(body.seconds) || 30 }, enabled: true, delay_seconds: 0,
        } }))}
        remove={(m) => ok(api.DELETE("/api/v1/automatic-messages/{bot_id}", { params: { path: { bot_id: m.id } } }))}
        fields={[{ name: "name", label: "Name" }, { name: "message", label: "Message", type: "textarea" },
          { name: "seconds", label: "After seconds on a page", type: "number" }]} />;
    case "team": return <Team />;
    case "facebook": return <Facebook />;
    case "subscription": return <Subscription />;
    case "bug-report": return <BugReport />;
    case "about": return <About />;
    default: return <p class="empty">No such settings screen.</p>;
  }
}

function ProfileExtras() {
  const { me } = useStore();
  async function upload(event: Event) {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    const saved = await attempt(() => ok(api.POST("/api/v1/me/avatar", { body: fileBody(file) as never, ...multipart })));
    if (saved) { state.me = saved as never; changed(); }
  }
  return (
    <div class="profile">
      {me?.avatar_url ? <img class="avatar big" src={me.avatar_url} alt="Your picture" /> : <span class="avatar big" aria-hidden="true">{me?.name.slice(0, 1)}</span>}
      <label class="button file">Change picture<input type="file" accept="image/png,image/jpeg,image/webp" onChange={upload} /></label>
      <p class="muted">{me?.email} · {me?.role} · chat status <strong>{me?.status}</strong> (change it at the top)</p>
    </div>
  );
}

// The login e-mail and the password: each asks for the current password.
function Credentials() {
  const [done, setDone] = useState("");
  const submit = (action: (f: Record<string, string>) => Promise<unknown>, message: string) => (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const fields = Object.fromEntries(new FormData(form)) as Record<string, string>;
    void attempt(() => action(fields)).then((r) => { if (r !== undefined) { form.reset(); setDone(message); } });
  };
  return (
    <>
      <form class="settings-form" aria-label="Login e-mail" onSubmit={submit(
        (f) => ok(api.POST("/api/v1/me/email", { body: { new_email: f.new_email, password: f.password } })), "Login e-mail changed")}>
        <label>New login e-mail<input name="new_email" type="email" required /></label>
        <label>Current password<input name="password" type="password" required autoComplete="current-password" /></label>
        <button>Change e-mail</button>
      </form>
      <form class="settings-form" aria-label="Password" onSubmit={submit(
        (f) => ok(api.POST("/api/v1/me/password", { body: { current_password: f.current_password, new_password: f.new_password } })),
        "Password changed: your other sessions are logged out")}>
        <label>Current password<input name="current_password" type="password" required autoComplete="current-password" /></label>
        <label>New password<input name="new_password" type="password" required minLength={8} autoComplete="new-password" /></label>
        <button>Change password</button>
      </form>
      {done && <p role="status">{done}</p>}
    </>
  );
}

/** What `load` gives, shown by `children` once it is there. */
function Loaded<T>(props: { load: () => Promise<T>; children: (value: T) => ComponentChildren }) {
  const [value] = useLoad(props.load);
  return value === null ? <p role="status">Loading…</p> : <>{props.children(value)}</>;
}

function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): [T | null, () => void] {
  const [value, setValue] = useState<T | null>(null);
  const reload = () => void attempt(async () => setValue(await load()));
  useEffect(reload, deps);
  return [value, reload];
}

function ChatCode() {
  return <Loaded load={() => ok(api.GET("/api/v1/account/chat-code"))}>{(code) => (
    <div>
      <p>See your chat box as your visitors do, and chat with yourself:</p>
      <a class="button primary" href={`/demo/${encodeURIComponent(code.widget_key)}`} target="_blank" rel="noopener">Open the live demo</a>
      <label>Chat code: paste it into your website, before &lt;/body&gt;
        <textarea readOnly rows={3} value={code.snippet} onFocus={(e) => (e.currentTarget as HTMLTextAreaElement).select()} />
      </label>
      <button onClick={() => void navigator.clipboard?.writeText(code.snippet)}>Copy the chat code</button>
    </div>
  )}</Loaded>;
}

function Team() {
  const [invite, setInvite] = useState<Schemas["InviteOut"] | null>(null);
  return (
    <>
      <CrudList<Schemas["AgentOut"]> what="agent"
        load={async () => (await ok(api.GET("/api/v1/agents"))).items}
        label={(a) => <><strong>{a.name}</strong> <span class="muted">{a.email} · {a.role} · {a.status}</span></>}
        create={async (body) => {
          const sent = await ok(api.POST("/api/v1/agents", { body: { email: body.email, role: body.role as "agent" } }));
          setInvite(sent);
          return sent;
        }}
        remove={(a) => ok(api.DELETE("/api/v1/agents/{agent_id}", { params: { path: { agent_id: a.id } } }))}
        addLabel="Invite"
        fields={[{ name: "email", label: "E-mail", type: "email" }, { name: "role", label: "Role", type: "select", options: ["agent", "admin"] }]} />
      {invite && <p role="status">Invitation sent to {invite.invitation.email}. Link: <code>{invite.invite_url}</code></p>}
    </>
  );
}

function Facebook() {
  const [page, reload] = useLoad(async () => {
    const { data, response } = await api.GET("/api/v1/integrations/facebook");
    return response.status === 404 ? "none" : (data ?? "none");
  });
  if (page === null) return <p role="status">Loading…</p>;
  if (page !== "none") {
    return (
      <div>
        <p>Connected to <strong>{page.page_name || page.page_id}</strong> ({page.status}) since {when(page.connected_at)}.</p>
        <button class="danger" onClick={() => void attempt(async () => { await ok(api.DELETE("/api/v1/integrations/facebook")); reload(); })}>Disconnect</button>
      </div>
    );
  }
  return (
    <form class="settings-form" onSubmit={(e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement)) as Record<string, string>;
      void attempt(async () => { await ok(api.PUT("/api/v1/integrations/facebook", { body: { page_id: f.page_id, page_access_token: f.token } })); reload(); });
    }}>
      <p>Answer your Facebook page's Messenger conversations here.</p>
      <label>Page ID<input name="page_id" required /></label>
      <label>Page access token<input name="token" required type="password" /></label>
      <button class="primary">Connect</button>
    </form>
  );
}

function Subscription() {
  return <Loaded load={() => ok(api.GET("/api/v1/account/subscription"))}>{(sub) => (
    <dl class="facts">
      <dt>Plan</dt><dd>{sub.effective_plan}</dd>
      <dt>Status</dt><dd>{sub.status}</dd>
      <dt>Renews</dt><dd>{sub.expires_at ? when(sub.expires_at) : "—"}{sub.auto_renew === false ? " (will not renew)" : ""}</dd>
      <dt>Bought through</dt><dd>{sub.source}</dd>
      {Object.entries(sub.entitlements).map(([k, v]) => <Fragment key={k}><dt>{k.replace(/_/g, " ")}</dt><dd>{String(v)}</dd></Fragment>)}
    </dl>
  )}</Loaded>;
}

function BugReport() {
  const [sent, setSent] = useState(false);
  return sent ? <p role="status">Thank you: your report was sent.</p> : (
    <form class="settings-form" onSubmit={(e) => {
      e.preventDefault();
      const message = new FormData(e.currentTarget as HTMLFormElement).get("message") as string;
      void attempt(async () => {
        await ok(api.POST("/api/v1/bug-reports", { body: { message, app_version: "web", device: navigator.userAgent.slice(0, 200) } }));
        setSent(true);
      });
    }}>
      <label>What went wrong?<textarea name="message" required rows={5} /></label>
      <button class="primary">Send the report</button>
    </form>
  );
}

function About() {
  return <Loaded load={() => ok(api.GET("/api/v1/app/links"))}>{(links) => (
    <ul class="rows">
      <li><a class="row" href={links.help_center_url} target="_blank" rel="noopener">Help center</a></li>
      <li><a class="row" href={links.terms_url} target="_blank" rel="noopener">Terms</a></li>
      <li><a class="row" href={links.privacy_url} target="_blank" rel="noopener">Privacy policy & GDPR</a></li>
    </ul>
  )}</Loaded>;
}
