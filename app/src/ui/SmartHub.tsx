// SmartHub: the conversations' and chatbots' statistics over the last days.
import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { attempt } from "../store";
import { Screen } from "./common";

const minutes = (s: number | null) => (s == null ? "—" : s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);

export function SmartHub() {
  const [days, setDays] = useState(7);
  const [chats, setChats] = useState<Schemas["ConversationStats"] | null>(null);
  const [bots, setBots] = useState<Schemas["ChatbotStats"] | null>(null);
  useEffect(() => {
    const to = new Date();
    const from = new Date(to.getTime() - (days - 1) * 86_400_000);
    const query = { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
    void attempt(async () => {
      const [c, b] = await Promise.all([
        ok(api.GET("/api/v1/stats/conversations", { params: { query } })),
        ok(api.GET("/api/v1/stats/chatbots", { params: { query } })),
      ]);
      setChats(c);
      setBots(b);
    });
  }, [days]);
  const peak = Math.max(1, ...(chats?.days ?? []).map((d) => d.new));
  return (
    <Screen title="SmartHub" actions={
      <label><span class="sr-only">Period</span>
        <select value={days} onChange={(e) => setDays(Number((e.currentTarget as HTMLSelectElement).value))}>
          <option value={7}>Last 7 days</option><option value={30}>Last 30 days</option>
        </select>
      </label>}>
      {!chats || !bots ? <p role="status">Loading…</p> : (
        <>
          <h2>Conversations</h2>
          <div class="tiles">
            <Tile label="New" value={chats.new} /><Tile label="Served" value={chats.served} />
            <Tile label="Missed" value={chats.missed} /><Tile label="Resolved" value={chats.resolved} />
            <Tile label="First response (median)" value={minutes(chats.median_first_response_seconds)} />
            <Tile label="Time to resolve (median)" value={minutes(chats.median_time_to_resolve_seconds)} />
            <Tile label="Rating" value={chats.average_rating == null ? "—" : `${chats.average_rating.toFixed(1)} (${chats.ratings})`} />
          </div>
          <ol class="bars" aria-label="New conversations per day">
            {chats.days.map((d) => (
              <li key={d.date}><span class="muted">{d.date.slice(5)}</span>
                <span class="bar" style={{ width: `${(100 * d.new) / peak}%` }} />{d.new}</li>
            ))}
          </ol>
          <table><caption>Agents</caption>
            <thead><tr><th scope="col">Agent</th><th scope="col">Chats</th><th scope="col">Resolved</th><th scope="col">First response</th></tr></thead>
            <tbody>{chats.agents.map((a) => (
              <tr key={a.agent_id}><td>{a.name}</td><td>{a.conversations}</td><td>{a.resolved}</td><td>{minutes(a.median_first_response_seconds)}</td></tr>
            ))}</tbody>
          </table>
          <h2>Chatbots</h2>
          <div class="tiles">
            <Tile label="Active chatbots" value={bots.active_chatbots} />
            <Tile label="Active automatic messages" value={bots.active_automatic_messages} />
            <Tile label="Triggered" value={bots.triggered} /><Tile label="Replied" value={bots.replied} />
            <Tile label="Converted" value={bots.converted} />
          </div>
        </>
      )}
    </Screen>
  );
}

function Tile({ label, value }: { label: string; value: string | number }) {
  return <div class="tile"><span class="value">{value}</span><span class="muted">{label}</span></div>;
}
