package deploy

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/portiere/portiere/config"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       map[string]string `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   any               `yaml:"depends_on"`
	} `yaml:"services"`
}

func TestComposeFileMatchesTheBinary(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	known := map[string]bool{}
	for _, v := range config.Variables {
		known[v] = true
	}
	subcommands := map[string]bool{"api": true, "worker": true, "migrate": true}
	portiere := 0
	for name, s := range c.Services {
		if !strings.HasPrefix(s.Image, "portiere") {
			continue
		}
		portiere++
		if len(s.Command) != 1 || !subcommands[s.Command[0]] {
			t.Errorf("service %s runs %v, not a portiere service subcommand", name, s.Command)
		}
		seen := map[string]bool{}
		for k := range s.Environment {
			if !known[k] {
				t.Errorf("service %s sets %s, which config does not read", name, k)
			}
			seen[k] = true
		}
		for _, required := range []string{"DB_PASSWORD", "JWT_SECRET", "API_KEY_SALT", "DB_HOST", "TEMPORAL_ADDRESS"} {
			if !seen[required] {
				t.Errorf("service %s does not set %s", name, required)
			}
		}
		if df := s.Build["dockerfile"]; df != "" {
			if _, err := os.Stat("../" + df); err != nil {
				t.Errorf("service %s builds from missing %s", name, df)
			}
		}
	}
	if portiere != 3 {
		t.Fatalf("want migrate, api and worker services, found %d portiere services", portiere)
	}
}

func TestDockerfileBuildsTheBinary(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "./cmd/portiere") || !strings.Contains(string(b), `ENTRYPOINT ["portiere"]`) {
		t.Fatal("Dockerfile does not build and run cmd/portiere")
	}
}
