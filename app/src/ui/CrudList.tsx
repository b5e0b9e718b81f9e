// A list of things with add, delete and (where they have one) an on/off switch: shortcuts,
// chatbots, automatic messages, the team.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { attempt } from "../store";
import type { Field } from "./Form";

type Item = { id: string; enabled?: boolean };

export function CrudList<T extends Item>(props: {
  what: string;
  load: () => Promise<T[]>;
  label: (item: T) => ComponentChildren;
  create: (body: Record<string, string>) => Promise<unknown>;
  remove: (item: T) => Promise<unknown>;
  toggle?: (item: T) => Promise<unknown>;
  fields: Field[];
  addLabel?: string;
}) {
  const [items, setItems] = useState<T[] | null>(null);
  const reload = () => void attempt(async () => setItems(await props.load()));
  useEffect(reload, []);

  const run = (action: () => Promise<unknown>) => void attempt(action).then((r) => r !== undefined && reload());

  return (
    <div>
      {items === null ? <p role="status">Loading…</p> : items.length === 0 ? <p class="empty">No {props.what}s yet.</p> : null}
      <ul class="rows" aria-label={`${props.what}s`}>
        {items?.map((item) => (
          <li key={item.id} class="row">
            <span class="row-main">{props.label(item)}</span>
            <span class="row-side">
              {props.toggle && (
                <label class="check"><input type="checkbox" checked={item.enabled} onChange={() => run(() => props.toggle!(item))} />On</label>
              )}
              <button class="link danger" onClick={() => run(() => props.remove(item))}>Delete<span class="sr-only"> {props.what}</span></button>
            </span>
          </li>
        ))}
      </ul>
      <form class="settings-form" onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        const body = Object.fromEntries(new FormData(form)) as Record<string, string>;
        void attempt(() => props.create(body)).then((r) => { if (r !== undefined) { form.reset(); reload(); } });
      }}>
        <h2>{props.addLabel ?? "Add"} {props.what === "agent" ? "" : `a ${props.what}`}</h2>
        {props.fields.map((f) => (
          <label key={f.name}>{f.label}
            {f.type === "textarea" ? <textarea name={f.name} required rows={2} />
              : f.type === "select" ? <select name={f.name}>{f.options!.map((o) => <option key={o}>{o}</option>)}</select>
              : <input name={f.name} type={f.type ?? "text"} required={f.type !== "number"} />}
          </label>
        ))}
        <button class="primary">{props.addLabel ?? "Add"}</button>
      </form>
    </div>
  );
}
