// The shell: signed out → log in / sign up; signed in → the tabs, two panes from 900 px.
import { useEffect, useState } from "preact/hooks";
import { api, loadSession, ok, saveSession, watchSession } from "../api/client";
import { navigate, usePath } from "../router";
import { attempt, boot, changed, shutdown, state, useStore } from "../store";
import { Auth } from "./Auth";
import { Badge, Link } from "./common";
import { ConversationView } from "./Conversation";
import { ConversationList } from "./Conversations";
import { Settings } from "./Settings";
import { SmartHub } from "./SmartHub";
import { VisitorDetail, VisitorList } from "./Visitors";

export function App() {
  const path = usePath();
  const [signedIn, setSignedIn] = useState(loadSession() !== null);
  const [booted, setBooted] = useState(false);

  useEffect(() => watchSession(setSignedIn), []);
  useEffect(() => {
    if (!signedIn) {
      shutdown();
      setBooted(false);
      return;
    }
    start();
  }, [signedIn]);

  const start = () => void attempt(boot).then(() => setBooted(state.me !== null));
  if (!signedIn) return <Auth mode={path === "/signup" ? "signup" : "login"} />;
  if (!booted) return <Loading retry={start} />;
  return <SignedIn path={path} />;
}

function Loading({ retry }: { retry: () => void }) {
  const { problem } = useStore();
  return (
    <main class="auth">
      <p role="status">{problem || "Loading…"}</p>
      {problem && <button class="primary" onClick={retry}>Try again</button>}
      {problem && <button onClick={() => void attempt(logOut)}>Log out</button>}
    </main>
  );
}

export async function logOut(): Promise<void> {
  const session = loadSession();
  // Ends the session on the server when it can be reached; logged out here in any case.
  if (session) {
    await api.POST("/api/v1/auth/logout", { body: { refresh_token: session.refresh_token } }).catch(() => undefined);
  }
  saveSession(null);
  navigate("/login");
}

function SignedIn({ path }: { path: string }) {
  useStore();
  const [, section, id] = path.split("/");
  const tab = section || "conversations";
  let list, detail;
  if (tab === "conversations" || tab === "resolved") {
    list = <ConversationList status={tab === "resolved" ? "resolved" : "open"} selected={id} />;
    detail = id && <ConversationView key={id} id={id} back={`/${tab}`} />;
  } else if (tab === "visitors") {
    list = <VisitorList selected={id} />;
    detail = id && <VisitorDetail key={id} id={id} />;
  } else if (tab === "settings") {
    return <Shell tab={tab}><Settings section={id} /></Shell>;
  } else if (tab === "smarthub") {
    return <Shell tab={tab}><SmartHub /></Shell>;
  } else {
    list = <p class="empty">Nothing here. <Link to="/">Back to conversations</Link></p>;
  }
  return (
    <Shell tab={tab}>
      <div class={`panes${detail ? " has-detail" : ""}`}>
        <div class="list-pane">{list}</div>
        <div class="detail-pane">{detail || <p class="empty">Pick one from the list.</p>}</div>
      </div>
    </Shell>
  );
}

function Shell({ tab, children }: { tab: string; children: preact.ComponentChildren }) {
  const { me, counts, problem, live } = useStore();
  const unread = counts?.unread ?? 0;
  return (
    <div class="app">
      <header class="top">
        <StatusMenu />
        <span class={`live ${live ? "on" : "off"}`} role="status">{live ? "Live" : "Reconnecting…"}</span>
      </header>
      {problem && (
        <p role="alert" class="problem">
          {problem} <button class="link" onClick={() => { state.problem = ""; changed(); }}>Dismiss</button>
        </p>
      )}
      <main class="content">{children}</main>
      <nav class="tabs" aria-label="Main">
        <Link to="/conversations" current={tab === "conversations" || tab === "resolved"}>
          Conversations <Badge count={unread} label="unread" />
        </Link>
        <Link to="/visitors" current={tab === "visitors"}>
          Visitors <Badge count={counts?.active_visitors ?? 0} label="active" />
        </Link>
        <Link to="/smarthub" current={tab === "smarthub"}>SmartHub</Link>
        <Link to="/settings" current={tab === "settings"}>Settings</Link>
      </nav>
      <span class="sr-only">{me?.name}</span>
    </div>
  );
}

function StatusMenu() {
  const { me } = useStore();
  if (!me) return null;
  async function setStatus(status: "online" | "away" | "offline") {
    await attempt(async () => {
      await ok(api.PUT("/api/v1/me/status", { body: { status } }));
      state.me = { ...state.me!, status };
      changed();
    });
  }
  return (
    <div class="me">
      <Link to="/settings/profile" class="avatar" label="Profile settings">
        {me.avatar_url ? <img src={me.avatar_url} alt="" /> : <span aria-hidden="true">{me.name.slice(0, 1)}</span>}
      </Link>
      <label class="status">
        <span class="sr-only">Chat status</span>
        <select value={me.status} onChange={(e) => void setStatus((e.currentTarget as HTMLSelectElement).value as "online")}
          class={`dot-${me.status}`}>
          <option value="online">Online</option>
          <option value="away">Away</option>
          <option value="offline">Offline</option>
        </select>
      </label>
    </div>
  );
}
