import type { ComponentChildren } from "preact";
import { href, onLink } from "../router";

export function Link(props: { to: string; class?: string; children: ComponentChildren; label?: string; current?: boolean }) {
  return (
    <a href={href(props.to)} onClick={onLink} class={props.class} aria-label={props.label}
      aria-current={props.current ? "page" : undefined}>
      {props.children}
    </a>
  );
}

export function Badge({ count, label }: { count: number; label: string }) {
  return count > 0 ? <span class="badge" aria-label={`${count} ${label}`}>{count}</span> : null;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { day: "numeric", month: "short" });
}

export function Screen(props: { title: string; back?: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="screen" aria-labelledby="screen-title">
      <div class="screen-head">
        {props.back && <Link to={props.back} class="back" label="Back">‹</Link>}
        <h1 id="screen-title">{props.title}</h1>
        <div class="actions">{props.actions}</div>
      </div>
      <div class="screen-body">{props.children}</div>
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
