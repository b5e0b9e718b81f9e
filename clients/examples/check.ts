// The generated TypeScript types with openapi-fetch against a running Parley: sign up, log in,
// list conversations, and read a 422 and a 404 as typed problems.
//   node clients/build/examples/check.js http://127.0.0.1:8000
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/typescript/schema.js";

type Problem = components["schemas"]["Problem"];

function check(condition: boolean, what: string, value?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}: ${JSON.stringify(value)}`);
}

// A random (version 4 shaped) UUID without the global `crypto`, which Node 18 (Debian
// bookworm's, installed by `make test` where no Node is) lacks in ES modules.
function uuid(): string {
  return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (Number(c) ^ (Math.floor(Math.random() * 16) >> (Number(c) / 4))).toString(16),
  );
}

async function main(baseUrl: string): Promise<void> {
  const api = createClient<paths>({ baseUrl });
  const email = `sdk-${uuid().slice(0, 10)}@example.com`;
  const password = "correct horse battery";

  const signup = await api.POST("/api/v1/auth/signup", {
    body: { email, password, name: "Tess TypeScript" },
  });
  check(signup.response.status === 201 && signup.data !== undefined, "signup", signup.error);

  const short = await api.POST("/api/v1/auth/signup", {
    body: { email, password: "short", name: "Tess TypeScript" },
  });
  const invalid: Problem | undefined = short.error;
  check(short.response.status === 422 && invalid !== undefined, "422", short.data);
  check(invalid.code === "validation_error", "422 code", invalid);
  check(invalid.errors?.[0]?.loc.join(".") === "body.password", "422 errors", invalid.errors);

  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  check(login.data !== undefined, "login", login.error);
  const headers = { Authorization: `Bearer ${login.data.access_token}` };

  const page = await api.GET("/api/v1/conversations", { headers });
  check(page.data !== undefined && page.data.items.length === 0, "conversations", page.error);

  const missing = await api.GET("/api/v1/conversations/{conversation_id}", {
    headers,
    params: { path: { conversation_id: uuid() } },
  });
  const notFound: Problem | undefined = missing.error;
  check(missing.response.status === 404 && notFound !== undefined, "404", missing.data);
  check(notFound.code === "conversation_not_found", "404 code", notFound);
  console.log("typescript client: ok");
}

const baseUrl = process.argv[2];
if (baseUrl === undefined) throw new Error("usage: check.js BASE_URL");
await main(baseUrl);
