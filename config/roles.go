package config

// Roles lists the modes a deployment runs as long-lived services or jobs,
// in the order the deployment guide presents them. ModeCLI (portiere init,
// map, version) is included: a container running `portiere init` loads its
// configuration in that mode.
func Roles() []Mode {
	return []Mode{ModeAPI, ModeWorker, ModeMigrate, ModeWeb, ModeCLI}
}

// RequiredVariables returns the environment variables Load refuses to start
// mode without — the same list Load checks, so deployment files can be
// validated against it instead of a second copy. ModeDev requires
// DB_PASSWORD only when DB_HOST is set; it is reported as requiring nothing.
// The result is a fresh slice the caller may modify.
func RequiredVariables(mode Mode) []string {
	return append([]string(nil), required[mode]...)
}
