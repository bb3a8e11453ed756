// Package deploy holds the container image definition and the tests that
// validate the deployment files (deploy/, docker-compose.yaml) against the
// code: no Docker engine runs on the build machines, so the files are
// checked, not run.
package deploy
