import { render } from "preact";
import { App } from "./ui/App";
import "./styles.css";

render(<App />, document.getElementById("root")!);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => undefined);
}
