// Package web is Portiere's server-rendered web apps: the Cloud dashboard
// (`portiere web --app=cloud`, and beside the API under `portiere dev`) and
// Portiere Mapper (`portiere web --app=mapper`; mapper_*.go), one Server
// type whose shell — assets, middleware, layout, error pages — both share.
// Pages are html/template with htmx for partial updates; every asset is
// embedded in the binary (no CDN, no Node at run time).
//
// It calls the same domain packages as the API (tenancy, credential, vocab,
// session), through the interfaces and functions they own, and never the
// apiserver package: there is one copy of each rule. The composition root
// (cmd/portiere) builds the stores and hands them in through Config.
//
// Security model:
//   - Sessions are server-side rows (package session): the cookie holds a
//     random token (HttpOnly, SameSite=Lax, Secure unless configured off
//     for plain-HTTP development); logging out or "sign out other
//     sessions" takes effect on the next request.
//   - Every state-changing request (POST) carries a CSRF token: the
//     session's synchronizer token once signed in, a double-submit cookie
//     on the sign-up and log-in forms before; a cross-site Origin or
//     Sec-Fetch-Site is refused as well. An upload (multipart) carries
//     it as X-CSRF-Token (htmx) or as the form's first field, so its
//     body streams to the handler unparsed (sources.go).
//   - Roles are credential's rules on a Principal built per request from
//     the user's current membership: a viewer reads, admins and owners
//     change settings and keys and start the deployment-wide index build
//     (credential.CanOperate, as in the API), another organization's
//     project is 404.
//   - Log-in failures are throttled per email and client address.
//   - Responses carry a strict Content-Security-Policy (no inline script
//     or style), frame denial, nosniff and no-store caching of pages. The
//     mapper's policy adds only the LIFF SDK's origin for scripts.
//   - Mapper: a LINE ID token is verified with LINE (platform/line) before
//     a session starts; the development sign-in exists only when the
//     composition root enables it (dev mode). Admins are the LINE user ids
//     of ADMIN_LINE_USER_IDS: every path under /admin is 403 for anyone
//     else, and mapper.Service checks again; KYC documents are served
//     decrypted to admins only, sandboxed, each view audited.
package web
