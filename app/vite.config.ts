import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// Served by the gateway under /app/; the dev server proxies the API to a running `make run`.
export default defineConfig({
  base: "/app/",
  plugins: [preact()],
  build: { target: "es2020", sourcemap: false, modulePreload: { polyfill: false } },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
      "/demo": "http://127.0.0.1:8000",
      "/widget.js": "http://127.0.0.1:8000",
    },
  },
});
