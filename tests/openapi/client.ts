// client.ts - a typed client of the demo API, written against the types
// openapi-typescript generates from Chopin's document (api.d.ts). If the
// document's shapes drift (a model renamed, an envelope changed, a body or
// a parameter lost), this stops compiling under tsc --strict.
import type { components, paths } from "./api";

type Todo = components["schemas"]["todo"];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

type CreateTodo = paths["/todos"]["post"];
type ListTodos = paths["/todos"]["get"];
type GetTodo = paths["/todos/{id}"]["get"];
type Signup = paths["/api/auth/signup"]["post"];
type Me = paths["/api/auth/me"]["get"];

const newTodo: Json<CreateTodo["requestBody"]> = { title: "milk", priority: 3, tag: "home" };
const created: Json<CreateTodo["responses"][201]> = {
  success: true,
  data: { id: 1, title: "milk", done: false, created_at: "2026-11-27T00:00:00Z", updated_at: "2026-11-27T00:00:00Z" },
};
const query: ListTodos["parameters"]["query"] = { done: false, tag: "work", sort: "-priority", page: 2, per_page: 10 };
const page: Json<ListTodos["responses"][200]> = { success: true, data: { items: [created.data], total: 1, limit: 20, offset: 0 } };
const id: GetTodo["parameters"]["path"]["id"] = 1;
const invalid: Json<CreateTodo["responses"][422]> = {
  success: false,
  error: { status: 422, code: "VALIDATION_FAILED", message: "invalid", fields: [{ field: "title", code: "required", message: "is required" }] },
};
const signup: Json<Signup["requestBody"]> = { email: "ada@example.com", username: "ada", password: "correct horse" };
const tokens: Json<Signup["responses"][201]> = {
  success: true,
  data: {
    access_token: "a", refresh_token: "r", token_type: "Bearer", expires_in: 86400,
    user: { id: 1, email: "ada@example.com", username: "ada", role: "user", is_active: true, created_at: "x", updated_at: "y" },
  },
};
const me: Json<Me["responses"][200]> = { success: true, data: tokens.data.user };
const unauthorized: Json<Me["responses"][401]> = { success: false, error: { status: 401, code: "UNAUTHORIZED", message: "no token" } };

// The user schema has no password_hash a client must expect (write-only).
// @ts-expect-error the tag is an enum
const badTag: Todo = { title: "x", tag: "garden" };

const all: unknown[] = [newTodo, query, page, id, invalid, signup, me, unauthorized, badTag];
console.log(all.length);
