// One form for every "GET an object, PATCH some of its fields" screen: profile, chat box
// general / design / contact form, notification settings, a visitor's details. Only the
// fields that changed are sent; dotted names ("texts.title") are nested objects.
import { useEffect, useState } from "preact/hooks";
import { attempt } from "../store";

export type Field = {
  readonly name: string;
  readonly label: string;
  readonly type?: "text" | "email" | "textarea" | "checkbox" | "select" | "color" | "number";
  readonly options?: readonly string[];
};

type Obj = Record<string, any>;

const read = (obj: Obj | null, name: string): any =>
  name.split(".").reduce((o: any, key) => (o == null ? undefined : o[key]), obj);

function nest(values: Obj): Obj {
  const out: Obj = {};
  for (const [name, value] of Object.entries(values)) {
    const keys = name.split(".");
    let node = out;
    for (const key of keys.slice(0, -1)) node = node[key] ??= {};
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

export function Form(props: {
  title: string;
  fields: readonly Field[];
  load: () => Promise<any>;
  save: (patch: any) => Promise<any>;
}) {
  const [initial, setInitial] = useState<Obj | null>(null);
  const [values, setValues] = useState<Obj>({});
  const [saved, setSaved] = useState(false);

  function show(obj: Obj) {
    setInitial(obj);
    setValues(Object.fromEntries(props.fields.map((f) => [f.name, read(obj, f.name)])));
  }
  useEffect(() => void attempt(async () => show(await props.load())), []);

  if (!initial) return <p role="status">Loading…</p>;

  async function submit(event: Event) {
    event.preventDefault();
    const changed: Obj = {};
    for (const f of props.fields) {
      let value = values[f.name];
      if (f.type === "number") value = value === "" || value == null ? null : Number(value);
      else if (value === "" && read(initial, f.name) == null) value = null;
      if (value !== read(initial, f.name)) changed[f.name] = value;
    }
    setSaved(false);
    const result = await attempt(() => props.save(nest(changed)));
    if (result !== undefined) {
      show(result ?? initial);
      setSaved(true);
    }
  }

  const set = (name: string, value: unknown) => {
    setSaved(false);
    setValues({ ...values, [name]: value });
  };

  return (
    <form class="settings-form" onSubmit={submit} aria-label={props.title}>
      {props.fields.map((f) => {
        const value = values[f.name];
        const onInput = (e: Event) => set(f.name, (e.currentTarget as HTMLInputElement).value);
        if (f.type === "checkbox") {
          return (
            <label key={f.name} class="check">
              <input type="checkbox" name={f.name} checked={!!value}
                onChange={(e) => set(f.name, (e.currentTarget as HTMLInputElement).checked)} />
              {f.label}
            </label>
          );
        }
        return (
          <label key={f.name}>
            {f.label}
            {f.type === "textarea" ? <textarea name={f.name} value={value ?? ""} onInput={onInput} rows={3} />
              : f.type === "select" ? (
                <select name={f.name} value={value ?? ""} onChange={onInput}>
                  {f.options!.map((o) => <option key={o} value={o}>{o}</option>)}
                </select>
              ) : <input name={f.name} type={f.type ?? "text"} value={value ?? ""} onInput={onInput} />}
          </label>
        );
      })}
      <button class="primary">Save</button>
      {saved && <span role="status" class="saved">Saved</span>}
    </form>
  );
}
