// Parley's service worker: the app shell only (index.html and the hashed assets it loads).
// API responses and the stream are never cached: they go to the network untouched.
const CACHE = "parley-shell-v1";
const SHELL = "/app/";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.add(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/app/")) return;
  if (event.request.mode === "navigate") {
    // Network first for the page, so a new build shows at once; the cached shell offline.
    event.respondWith(
      fetch(event.request)
        .then((resp) => {
          if (resp.ok) caches.open(CACHE).then((cache) => cache.put(SHELL, resp.clone()));
          return resp;
        })
        .catch(() => caches.match(SHELL)),
    );
  } else if (url.pathname.startsWith("/app/assets/")) {
    // Hashed names never change: cache first.
    event.respondWith(
      caches.match(event.request).then((hit) => hit || fetch(event.request).then((resp) => {
        if (resp.ok) caches.open(CACHE).then((cache) => cache.put(event.request, resp.clone()));
        return resp;
      })),
    );
  }
});
