/* Parley chat box. Plain JavaScript, no framework; everything lives in a shadow root and
 * every visitor or agent text is set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  if (window.__parley) return;
  var script = document.currentScript || document.querySelector("script[data-widget-key]");
  var key = (script && script.getAttribute("data-widget-key")) ||
    (window.ParleySettings && window.ParleySettings.widget_key);
  if (!script || !key) return;
  var base = new URL(script.src, location.href).origin;
  var api = base + "/api/v1";
  var idKey = "parley:" + key + ":visitor";

  var T = {
    en: { send: "Send", attach: "Attach a file", close: "Close", typing: "typing…", name: "Name",
      email: "E-mail", phone: "Phone", message: "Message", sent: "Thank you! We will reply by e-mail.",
      rate: "How was the chat?", good: "Good", bad: "Bad", comment: "Comment (optional)",
      thanks: "Thank you for the rating!", failed: "Not sent. Try again." },
    cs: { send: "Odeslat", attach: "Přiložit soubor", close: "Zavřít", typing: "píše…",
      name: "Jméno", email: "E-mail", phone: "Telefon", message: "Zpráva",
      sent: "Děkujeme! Odpovíme e-mailem.", rate: "Jak jste byli spokojeni?", good: "Dobře",
      bad: "Špatně", comment: "Komentář (nepovinný)", thanks: "Děkujeme za hodnocení!",
      failed: "Neodesláno. Zkuste to znovu." },
    de: { send: "Senden", attach: "Datei anhängen", close: "Schließen", typing: "schreibt…",
      name: "Name", email: "E-Mail", phone: "Telefon", message: "Nachricht",
      sent: "Danke! Wir antworten per E-Mail.", rate: "Wie war der Chat?", good: "Gut",
      bad: "Schlecht", comment: "Kommentar (optional)", thanks: "Danke für die Bewertung!",
      failed: "Nicht gesendet. Bitte erneut versuchen." }
  };

  var s = { token: null, visitorId: null, settings: null, conversationId: null, seen: {},
    since: null, epoch: null, ws: null, retry: 1000, lastUrl: null, ui: null, t: T.en };

  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function save(k, v) { try { localStorage.setItem(k, v); } catch (e) { /* private mode */ } }

  function request(method, path, body, form) {
    var headers = {};
    if (s.token) headers.Authorization = "Bearer " + s.token;
    if (body && !form) headers["Content-Type"] = "application/json";
    return fetch(api + path, { method: method, headers: headers,
      body: form ? body : body ? JSON.stringify(body) : undefined }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var err = new Error((data && data.detail) || r.statusText); err.status = r.status;
          err.retryAfter = parseInt(r.headers.get("Retry-After"), 10) || 0; throw err;
        }
        return data;
      });
    });
  }

  function el(tag, cls, text, attrs) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    for (var a in attrs || {}) node.setAttribute(a, attrs[a]);
    return node;
  }

  function page() { return { url: location.href, title: document.title || "" }; }

  function start() {
    var p = page();
    p.referrer = document.referrer || null;
    var body = { widget_key: key, page: p };
    var known = load(idKey);
    if (known) body.visitor_id = known;
    s.token = null;
    return request("POST", "/widget/sessions", body).then(function (r) {
      s.token = r.visitor_token; s.visitorId = r.visitor_id; s.settings = r.settings;
      s.lastUrl = p.url; save(idKey, r.visitor_id);
      var g = r.settings.general || {};
      s.t = T[g.language] || T.en;
      if (r.blocked) return; // a blocked visitor's chat box opens no chat
      if (!s.ui) render();
      loadConversation();
      connect();
    });
  }

  function restart() {
    s.failures = 0;
    start().catch(function () { setTimeout(restart, 30000); });
  }

  // --- presence: heartbeats and page views (single-page apps included) -------------------
  function heartbeat() {
    if (!s.token) return;
    request("POST", "/widget/heartbeat").catch(function (e) { if (e.status === 401 || e.status === 404) restart(); });
  }
  function pageChanged() {
    setTimeout(function () {
      var p = page();
      if (!s.token || p.url === s.lastUrl || !/^https?:/.test(p.url)) return;
      s.lastUrl = p.url;
      request("POST", "/widget/page-views", p).catch(function () {});
    }, 300); // let the app set its title first
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () { var out = original.apply(this, arguments); pageChanged(); return out; };
  });
  window.addEventListener("popstate", pageChanged);
  window.addEventListener("hashchange", pageChanged);
  setInterval(heartbeat, 20000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) heartbeat(); });

  // --- the visitor's live stream ----------------------------------------------------------
  function connect() {
    var url = base.replace(/^http/, "ws") + "/api/v1/widget/stream?token=" + encodeURIComponent(s.token);
    if (s.since != null && s.epoch) url += "&since=" + s.since + "&epoch=" + encodeURIComponent(s.epoch);
    if (s.ws) { var old = s.ws; s.ws = null; old.close(); }
    var ws = new WebSocket(url);
    s.ws = ws;
    ws.onopen = function () { s.retry = 1000; s.failures = 0; };
    ws.onmessage = function (m) {
      var f; try { f = JSON.parse(m.data); } catch (e) { return; }
      if (f.seq != null) s.since = f.seq;
      if (f.epoch) s.epoch = f.epoch;
      if (f.type === "event") onEvent(f.event, f.data || {});
      else if (f.type === "typing" && f.author_type !== "visitor") showTyping(f.is_typing !== false);
      else if (f.type === "reset") { loadConversation(); refreshAvailability(); }
    };
    ws.onclose = function (e) {
      if (s.ws !== ws) return;
      s.ws = null;
      if (e.code === 4001) return; // the server ended this visitor's stream for good
      // A socket refused again and again (an expired token): open a new session first.
      s.failures = (s.failures || 0) + 1;
      setTimeout(s.failures >= 3 ? restart : connect, s.retry);
      s.retry = Math.min(s.retry * 2, 30000);
    };
  }

  function onEvent(type, d) {
    if (type === "chat.message.created") {
      s.conversationId = d.conversation_id || s.conversationId;
      addMessage({ id: d.message_id, author_type: d.author_type, author_name: d.author_name,
        text: d.text, attachments: d.attachments, client_message_id: d.client_message_id });
      if (d.author_type !== "visitor") { showTyping(false); showChat(); if (!s.ui.open) toggle(true); }
    } else if (type === "chat.conversation.created") {
      s.conversationId = d.conversation_id; showChat();
    } else if (type === "chat.conversation.resolved") {
      if (d.rating_requested) showRating(d.conversation_id);
      s.conversationId = null;
    } else if (type === "visitors.agents.availability_changed") {
      availability(!!d.agents_online);
    }
  }

  // Nobody online: the contact form (when enabled) instead of the chat, unless a conversation
  // is going on; back to the chat when an agent comes online.
  function availability(online) {
    s.settings.agents_online = online;
    if (!s.ui) return;
    var cf = s.settings.contact_form || {};
    if (!online && cf.enabled && !s.conversationId) showContactForm();
    else if (online && s.ui.chat.style.display === "none") showChat();
  }

  function refreshAvailability() {
    request("GET", "/widget/settings?widget_key=" + encodeURIComponent(key)).then(function (r) {
      if (r) availability(!!r.agents_online);
    }).catch(function () { /* the next change comes on the stream */ });
  }

  function loadConversation() {
    if (!s.ui) return;
    request("GET", "/widget/conversation").then(function (c) {
      if (!c || c.status === "resolved") return;
      s.conversationId = c.id;
      (c.messages || []).forEach(addMessage);
      showChat();
    }).catch(function () { /* none open yet */ });
  }

  // --- sending ------------------------------------------------------------------------------
  function send(text, attachmentIds) {
    var cmid = "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    var node = addMessage({ author_type: "visitor", text: text, client_message_id: cmid, pending: true });
    var body = { text: text, client_message_id: cmid };
    if (attachmentIds) body.attachment_ids = attachmentIds;
    return retrying(function () { return request("POST", "/widget/messages", body); }).then(function (r) {
      s.conversationId = r.conversation_id;
      s.seen[r.message.id] = true;
      node.classList.remove("pending");
      if (r.message.attachments) r.message.attachments.forEach(function (a) { node.appendChild(attachment(a)); });
    }).catch(function () {
      node.classList.add("failed");
      node.appendChild(el("div", "note", s.t.failed));
    });
  }

  // A refused send (503 overloaded, 429 rate limited) is tried again after Retry-After, with
  // backoff; the same client_message_id makes a retry that did land a no-op.
  function retrying(call, attempt) {
    attempt = attempt || 0;
    return call().catch(function (e) {
      if ((e.status !== 503 && e.status !== 429) || attempt >= 5) throw e;
      var wait = Math.max(e.retryAfter * 1000, 500 * Math.pow(2, attempt)) * (1 + Math.random() / 2);
      return new Promise(function (ok) { setTimeout(ok, Math.min(wait, 30000)); })
        .then(function () { return retrying(call, attempt + 1); });
    });
  }

  function upload(file) {
    var form = new FormData();
    form.append("file", file, file.name);
    return request("POST", "/widget/attachments", form, true).then(function (a) {
      return send("", [a.id]);
    }).catch(function (e) { addMessage({ author_type: "system", text: e.message }); });
  }

  function typing() {
    var now = Date.now();
    if (!s.ws || s.ws.readyState !== 1 || now - (s.typedAt || 0) < 2000) return;
    s.typedAt = now;
    s.ws.send(JSON.stringify({ type: "typing", conversation_id: s.conversationId, is_typing: true }));
  }

  // --- the box ------------------------------------------------------------------------------
  var CSS = ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;margin:0}" +
    ".launcher{position:fixed;bottom:20px;z-index:2147483000;border:0;cursor:pointer;background:var(--c);color:#fff;box-shadow:0 4px 16px rgba(0,0,0,.25)}" +
    ".launcher *{color:#fff}.clip{color:#6b7280!important}.bubble{width:58px;height:58px;border-radius:50%;display:flex;align-items:center;justify-content:center}" +
    ".bar{bottom:0;border-radius:8px 8px 0 0;padding:10px 22px;font-weight:600}.tab{bottom:40%;writing-mode:vertical-rl;padding:16px 8px;border-radius:8px 0 0 8px}" +
    ".right{right:20px}.left{left:20px}.tab.right{right:0}.tab.left{left:0;border-radius:0 8px 8px 0}" +
    ".badge{position:absolute;top:-4px;right:-4px;background:#e5484d;border-radius:9px;min-width:18px;height:18px;font-size:11px;text-align:center;display:none}" +
    ".panel{position:fixed;bottom:90px;width:350px;max-width:calc(100vw - 24px);height:500px;max-height:calc(100vh - 110px);z-index:2147483001;background:#fff;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden}" +
    ".panel.open{display:flex}.head{background:var(--c);padding:14px 16px;display:flex;align-items:center;justify-content:space-between}" +
    ".head *{color:#fff}.title{font-weight:600;font-size:15px}.x{background:none;border:0;font-size:20px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}" +
    ".msg{max-width:80%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;background:#fff;align-self:flex-start;box-shadow:0 1px 2px rgba(0,0,0,.08)}" +
    ".msg.visitor{align-self:flex-end;background:var(--c)}.msg.visitor,.msg.visitor *{color:#fff}.msg.system{align-self:center;background:none;box-shadow:none;color:#6b7280;font-size:12px}" +
    ".msg.pending{opacity:.6}.msg.failed{border:1px solid #e5484d}.who{font-size:11px;font-weight:600;opacity:.7}.note{font-size:11px}" +
    ".msg a{text-decoration:underline;cursor:pointer;display:block}.typing{font-size:12px;color:#6b7280;padding:0 14px;height:18px}" +
    ".compose{display:flex;border-top:1px solid #e5e7eb;align-items:flex-end}.compose textarea{flex:1;border:0;resize:none;padding:12px;height:48px;outline:none}" +
    ".compose button,.form button,.rating button{border:0;background:none;cursor:pointer;padding:12px;font-weight:600;color:var(--c)}" +
    ".form,.rating{padding:16px;display:flex;flex-direction:column;gap:8px;overflow-y:auto}.form input,.form textarea,.rating textarea{border:1px solid #d1d5db;border-radius:6px;padding:8px;width:100%}" +
    ".form button[type=submit],.rating .go{background:var(--c);color:#fff;border-radius:6px}.choices{display:flex;gap:8px}.choices button{flex:1;border:1px solid var(--c);border-radius:6px}" +
    ".choices button.on{background:var(--c);color:#fff}.hidden{display:none}";

  function render() {
    var design = s.settings.design || {}, texts = design.texts || {};
    var color = /^#[0-9a-fA-F]{6}$/.test(design.color || "") ? design.color : "#1f6feb";
    var side = design.position === "left" ? "left" : "right";
    var theme = ["bubble", "bar", "tab"].indexOf(design.button_theme) >= 0 ? design.button_theme : "bubble";
    var host = el("div", null, null, { id: "parley-chat-box" });
    var root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", null, CSS));
    var wrap = el("div");
    wrap.style.setProperty("--c", color);
    root.appendChild(wrap);

    var launcher = el("button", "launcher " + theme + " " + side, null, { type: "button", "aria-label": texts.title || "Chat", part: "launcher" });
    if (theme === "bubble") launcher.appendChild(icon("M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z", 28)); else launcher.textContent = texts.button_label || texts.title || "Chat";
    var badge = el("span", "badge", "");
    launcher.appendChild(badge);
    launcher.onclick = function () { toggle(); };

    var panel = el("div", "panel " + side, null, { role: "dialog", "aria-label": texts.title || "Chat" });
    var head = el("div", "head");
    head.appendChild(el("span", "title", texts.title || "Chat"));
    var x = el("button", "x", "×", { type: "button", "aria-label": s.t.close });
    x.onclick = function () { toggle(false); };
    head.appendChild(x);
    var log = el("div", "log", null, { "aria-live": "polite" });
    if (texts.welcome) log.appendChild(el("div", "msg agent welcome", texts.welcome));
    var typingLine = el("div", "typing");

    var compose = el("form", "compose");
    var input = el("textarea", null, null, { placeholder: texts.input_placeholder || "", "aria-label": s.t.message, maxlength: "10000" });
    var file = el("input", "hidden", null, { type: "file" });
    var clip = el("button", "clip", null, { type: "button", title: s.t.attach, "aria-label": s.t.attach });
    clip.appendChild(icon("M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z", 20));
    clip.onclick = function () { file.click(); };
    file.onchange = function () { if (file.files[0]) upload(file.files[0]); file.value = ""; };
    compose.appendChild(input); compose.appendChild(file); compose.appendChild(clip);
    compose.appendChild(el("button", "send", s.t.send, { type: "submit" }));
    compose.onsubmit = function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (text) { input.value = ""; send(text); }
    };
    input.onkeydown = function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); compose.requestSubmit ? compose.requestSubmit() : compose.onsubmit(e); }
      else typing();
    };

    var chat = el("div", "chat");
    chat.style.cssText = "display:flex;flex-direction:column;flex:1;min-height:0";
    chat.appendChild(log); chat.appendChild(typingLine); chat.appendChild(compose);
    var extra = el("div", "extra");
    panel.appendChild(head); panel.appendChild(chat); panel.appendChild(extra);
    wrap.appendChild(panel); wrap.appendChild(launcher);
    document.body.appendChild(host);
    s.ui = { host: host, panel: panel, log: log, typing: typingLine, chat: chat, extra: extra,
      badge: badge, input: input, open: false, unread: 0 };
    availability(s.settings.agents_online);
  }

  function icon(d, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", size); svg.setAttribute("height", size);
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }

  function toggle(open) {
    var ui = s.ui;
    ui.open = open == null ? !ui.open : open;
    ui.panel.classList.toggle("open", ui.open);
    if (ui.open) { ui.unread = 0; ui.badge.style.display = "none"; ui.log.scrollTop = ui.log.scrollHeight; }
  }

  function showChat() { if (!s.ui) return; s.ui.chat.style.display = "flex"; clear(s.ui.extra); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function addMessage(m) {
    if (!s.ui) return el("div");
    if (m.id && s.seen[m.id]) return el("div");
    if (m.id) s.seen[m.id] = true;
    if (m.client_message_id && m.author_type === "visitor") {
      var mine = s.ui.log.querySelector('[data-cmid="' + m.client_message_id.replace(/[^\w-]/g, "") + '"]');
      if (mine && !m.pending) { mine.classList.remove("pending"); return mine; }
    }
    var kind = ["visitor", "agent", "bot", "system"].indexOf(m.author_type) >= 0 ? m.author_type : "agent";
    var node = el("div", "msg " + kind + (m.pending ? " pending" : ""));
    if (m.client_message_id) node.setAttribute("data-cmid", m.client_message_id.replace(/[^\w-]/g, ""));
    if ((kind === "agent" || kind === "bot") && m.author_name) node.appendChild(el("div", "who", m.author_name));
    if (m.text) node.appendChild(el("div", "text", m.text));
    (m.attachments || []).forEach(function (a) { node.appendChild(attachment(a)); });
    s.ui.log.appendChild(node);
    s.ui.log.scrollTop = s.ui.log.scrollHeight;
    if (!s.ui.open && kind !== "visitor") { s.ui.unread++; s.ui.badge.textContent = String(s.ui.unread); s.ui.badge.style.display = "block"; }
    return node;
  }

  function attachment(a) {
    var link = el("a", null, "⤓ " + (a.name || "file"), { role: "link", tabindex: "0" });
    link.onclick = function () {
      // Downloads need the visitor token, so fetch and hand the browser a blob.
      fetch(api + "/attachments/" + encodeURIComponent(a.id), { headers: { Authorization: "Bearer " + s.token } })
        .then(function (r) { return r.blob(); }).then(function (b) {
          var tmp = el("a", null, null, { download: a.name || "file" });
          tmp.href = URL.createObjectURL(b); tmp.click();
          setTimeout(function () { URL.revokeObjectURL(tmp.href); }, 10000);
        });
    };
    return link;
  }

  function showTyping(on) {
    if (!s.ui) return;
    clearTimeout(s.typingTimer);
    s.ui.typing.textContent = on ? s.t.typing : "";
    if (on) s.typingTimer = setTimeout(function () { s.ui.typing.textContent = ""; }, 6000);
  }

  function showContactForm() {
    var ui = s.ui, cf = s.settings.contact_form || {}, texts = (s.settings.design || {}).texts || {};
    ui.chat.style.display = "none";
    clear(ui.extra);
    var form = el("form", "form");
    form.appendChild(el("p", null, cf.offline_text || texts.offline || ""));
    var fields = cf.fields || [{ name: "name" }, { name: "email", required: true }, { name: "message", required: true }];
    var inputs = {};
    fields.forEach(function (f) {
      var label = f.label || s.t[f.name] || f.name;
      var input = f.name === "message" ? el("textarea", null, null, { rows: "4" }) :
        el("input", null, null, { type: f.name === "email" ? "email" : f.name === "phone" ? "tel" : "text" });
      input.setAttribute("name", f.name); input.setAttribute("placeholder", label); input.setAttribute("aria-label", label);
      if (f.required || f.name === "email") input.required = true;
      inputs[f.name] = input;
      form.appendChild(input);
    });
    form.appendChild(el("button", null, s.t.send, { type: "submit" }));
    form.onsubmit = function (e) {
      e.preventDefault();
      var v = function (n) { return inputs[n] ? inputs[n].value.trim() : ""; };
      var text = v("message") + (v("phone") ? "\n" + s.t.phone + ": " + v("phone") : "");
      request("POST", "/widget/contact-form", { name: v("name") || null, email: v("email"), text: text || "-" })
        .then(function () { clear(form); form.appendChild(el("p", "done", s.t.sent)); })
        .catch(function (err) { form.appendChild(el("p", "note", err.message)); });
    };
    ui.extra.appendChild(form);
  }

  function showRating(conversationId) {
    var g = s.settings.general || {};
    if (!s.ui || g.satisfaction_rating_enabled === false) return;
    var box = el("div", "rating");
    box.appendChild(el("p", null, s.t.rate));
    var choices = el("div", "choices"), picked = null;
    ["good", "bad"].forEach(function (r) {
      var b = el("button", null, s.t[r], { type: "button", "data-rating": r });
      b.onclick = function () {
        picked = r;
        Array.prototype.forEach.call(choices.children, function (c) { c.classList.toggle("on", c === b); });
      };
      choices.appendChild(b);
    });
    var comment = el("textarea", null, null, { rows: "2", placeholder: s.t.comment, maxlength: "2000" });
    var go = el("button", "go", s.t.send, { type: "button" });
    go.onclick = function () {
      if (!picked) return;
      request("POST", "/widget/rating", { conversation_id: conversationId, rating: picked, comment: comment.value.trim() || null })
        .then(function () { clear(box); box.appendChild(el("p", null, s.t.thanks)); })
        .catch(function (err) { box.appendChild(el("p", "note", err.message)); });
    };
    box.appendChild(choices); box.appendChild(comment); box.appendChild(go);
    s.ui.log.appendChild(box);
    s.ui.log.scrollTop = s.ui.log.scrollHeight;
    toggle(true);
  }

  window.__parley = true;
  window.Parley = {
    open: function () { if (s.ui) toggle(true); },
    close: function () { if (s.ui) toggle(false); },
    // Tell Parley who the visitor is, e.g. the logged-in user: {name, email, phone, custom}.
    identify: function (data) { return request("PATCH", "/widget/visitor", data); }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
