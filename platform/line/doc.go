// Package line talks to LINE's platform: verifying a LINE Login ID token
// (idtoken.go) and pushing Messaging API notifications (push.go). The base
// URLs are configurable so tests run against linetest's local servers; no
// domain knowledge lives here.
package line
