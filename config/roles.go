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

// MapperRequiredVariables returns what the Mapper app (`portiere web
// --app=mapper`) refuses to start without beyond RequiredVariables(ModeWeb):
// the KYC encryption keys. ModeWeb also serves the cloud dashboard, which
// does not need them, so Load cannot check them; cmd/portiere does when it
// builds the app, and deployment files are validated against this list.
// The result is a fresh slice the caller may modify.
func MapperRequiredVariables() []string {
	return []string{"MAPPER_KYC_KEYS"}
}
