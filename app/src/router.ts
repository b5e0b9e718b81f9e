// Client routes under /app/ (the gateway answers index.html for each of them).
import { useEffect, useState } from "preact/hooks";

const BASE = "/app";

export function currentPath(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "/";
  return path || "/";
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((fn) => fn()));

export function navigate(path: string): void {
  if (path === currentPath()) return;
  history.pushState(null, "", BASE + path);
  listeners.forEach((fn) => fn());
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const fn = () => setPath(currentPath());
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return path;
}

/** An in-app link: a real href (open in a new tab works), navigation without a reload. */
export function onLink(event: MouseEvent): void {
  const a = (event.currentTarget as HTMLAnchorElement);
  if (event.ctrlKey || event.metaKey || event.shiftKey || a.target) return;
  event.preventDefault();
  navigate(a.pathname.slice(BASE.length) || "/");
}

export const href = (path: string): string => BASE + path;
