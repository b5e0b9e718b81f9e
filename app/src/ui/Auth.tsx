// Sign up and log in: both end with a session saved and the app booted.
import { useState } from "preact/hooks";
import { api, ok, saveSession } from "../api/client";
import { navigate } from "../router";
import { attempt, useStore } from "../store";
import { Link } from "./common";

export function Auth({ mode }: { mode: "login" | "signup" }) {
  const { problem } = useStore();
  const [busy, setBusy] = useState(false);
  const signup = mode === "signup";

  async function submit(event: Event) {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.currentTarget as HTMLFormElement)) as Record<string, string>;
    setBusy(true);
    const tokens = await attempt(() =>
      signup
        ? ok(api.POST("/api/v1/auth/signup", {
            body: { email: form.email, password: form.password, name: form.name, account_name: form.account_name || null },
          }))
        : ok(api.POST("/api/v1/auth/login", { body: { email: form.email, password: form.password } })),
    );
    setBusy(false);
    if (tokens) {
      saveSession(tokens);
      navigate("/");
    }
  }

  return (
    <main class="auth">
      <div class="brand" aria-hidden="true">Parley</div>
      <h1>{signup ? "Create your free account" : "Log in to Parley"}</h1>
      {problem && <p role="alert" class="problem">{problem}</p>}
      <form onSubmit={submit}>
        {signup && <label>Your name<input name="name" required autoComplete="name" /></label>}
        {signup && <label>Company or website<input name="account_name" autoComplete="organization" /></label>}
        <label>E-mail<input name="email" type="email" required autoComplete="email" /></label>
        <label>Password
          <input name="password" type="password" required minLength={signup ? 8 : 1}
            autoComplete={signup ? "new-password" : "current-password"} />
        </label>
        <button class="primary" disabled={busy}>{signup ? "Sign up" : "Log in"}</button>
      </form>
      <p>
        {signup ? <>Have an account? <Link to="/login">Log in</Link></>
          : <>No account yet? <Link to="/signup">Sign up for free</Link></>}
      </p>
    </main>
  );
}
