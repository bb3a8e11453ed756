// Package check validates Portiere's deployment files against the code: the
// compose files (compose-spec loader), the Helm chart (Helm SDK, decoded into
// the Kubernetes API types), the nginx configuration (nginx -t) and the
// Dockerfile (buildkit's parser and linter, its build command run outside
// Docker, and ldd of the built binary against its runtime packages).
//
// No Docker engine or Kubernetes runs on the build machines, so the files are
// checked, not run. It is a module of its own so that Helm, the Kubernetes
// types and compose-go stay out of the product binary's dependencies;
// `make test` runs it.
package check

// repoRoot is the repository root relative to this package's directory, the
// working directory of its tests.
const repoRoot = "../.."
