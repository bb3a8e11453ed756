package check

import (
	"bufio"
	"cmp"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

const dockerfile = repoRoot + "/deploy/Dockerfile"

// stage is one FROM ... of the Dockerfile with what the checks need.
type stage struct {
	name   string
	base   string   // FROM, with the global ARGs expanded
	apt    []string // packages its RUN lines apt-get install
	runs   []string // RUN command lines (shell form)
	copies []*instructions.CopyCommand
	env    map[string]string // ENV
	args   map[string]string // ARG defaults
	user   string
	health []string
	entry  []string
	cmd    []string
}

// parseDockerfile parses with buildkit's parser and runs buildkit's
// parse-time lint rules (casing, JSON-form CMD/ENTRYPOINT, legacy syntax,
// duplicate stage names, ...); any warning fails the test.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile does not parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		t.Errorf("Dockerfile:%d: lint %s: %s (%s)", line, rule, msg, url)
	}})
	parsed, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	global := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				global[kv.Key] = *kv.Value
			}
		}
	}
	expand := func(s string, vars map[string]string) string {
		return os.Expand(s, func(k string) string { return vars[k] })
	}
	var stages []stage
	for _, ps := range parsed {
		st := stage{name: ps.Name, base: expand(ps.BaseName, global), env: map[string]string{}, args: map[string]string{}}
		for _, c := range ps.Commands {
			switch c := c.(type) {
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				st.runs = append(st.runs, line)
				st.apt = append(st.apt, aptInstalls(line)...)
			case *instructions.CopyCommand:
				st.copies = append(st.copies, c)
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					st.env[kv.Key] = kv.Value
				}
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					if kv.Value != nil {
						st.args[kv.Key] = *kv.Value
					}
				}
			case *instructions.UserCommand:
				st.user = c.User
			case *instructions.HealthCheckCommand:
				st.health = c.Health.Test
			case *instructions.EntrypointCommand:
				st.entry = c.CmdLine
			case *instructions.CmdCommand:
				st.cmd = c.CmdLine
			case *instructions.VolumeCommand:
				t.Errorf("stage %s: VOLUME %v; the compose files and the chart decide the volumes", ps.Name, c.Volumes)
			}
		}
		stages = append(stages, st)
	}
	return stages
}

var aptLine = regexp.MustCompile(`apt-get install ([^&;|]*)`)

// aptInstalls returns the packages of every `apt-get install` in a RUN line.
func aptInstalls(line string) []string {
	var pkgs []string
	for _, m := range aptLine.FindAllStringSubmatch(line, -1) {
		for _, w := range strings.Fields(strings.ReplaceAll(m[1], "\\", " ")) {
			if !strings.HasPrefix(w, "-") {
				pkgs = append(pkgs, w)
			}
		}
	}
	return pkgs
}

func stageNamed(t *testing.T, stages []stage, name string) stage {
	t.Helper()
	for _, s := range stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile has no stage %q", name)
	return stage{}
}

// bootstrap reads scripts/bootstrap.sh: the packages it apt-installs and
// the ONNX Runtime version it fetches.
func bootstrap(t *testing.T) (packages []string, ortVersion string) {
	t.Helper()
	b, err := os.ReadFile(repoRoot + "/scripts/bootstrap.sh")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "ORT_VERSION=") {
			ortVersion = strings.TrimPrefix(l, "ORT_VERSION=")
		}
		if i := strings.Index(l, "apt_install "); i >= 0 && !strings.HasPrefix(l, "apt_install()") && !strings.HasPrefix(l, "#") {
			for _, w := range strings.Fields(l[i+len("apt_install "):]) {
				if w == "||" || w == "&&" || w == ";" {
					break
				}
				packages = append(packages, w)
			}
		}
	}
	return packages, ortVersion
}

func TestDockerfileStages(t *testing.T) {
	stages := parseDockerfile(t)
	build := stageNamed(t, stages, "build")
	ort := stageNamed(t, stages, "onnxruntime")
	run := stages[len(stages)-1]
	if run.name != "runtime" {
		t.Fatalf("the last stage (the image) is %q, want runtime", run.name)
	}

	// The Go toolchain of the build stage is at least the one go.mod asks
	// for (a later patch release carries the standard library's security
	// fixes; see docs/reliability.md, govulncheck).
	gomod, err := os.ReadFile(repoRoot + "/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(gomod)
	imageGo := regexp.MustCompile(`^golang:(\d+(?:\.\d+)*)-`).FindStringSubmatch(build.base)
	if goVersion == nil || imageGo == nil || compareVersions(imageGo[1], string(goVersion[1])) < 0 {
		t.Errorf("build stage FROM %s; go.mod wants go %s or later", build.base, goVersion[1])
	}

	// The build stage installs every development package bootstrap.sh
	// installs (the cgo FAISS shim needs them to compile and link).
	pkgs, ortVersion := bootstrap(t)
	for _, p := range pkgs {
		if strings.HasSuffix(p, "-dev") && !slices.Contains(build.apt, p) {
			t.Errorf("scripts/bootstrap.sh installs %s for building; the build stage does not (it installs %v)", p, build.apt)
		}
	}
	if ortVersion == "" || ort.args["ORT_VERSION"] != ortVersion {
		t.Errorf("onnxruntime stage fetches ONNX Runtime %q, scripts/bootstrap.sh %q", ort.args["ORT_VERSION"], ortVersion)
	}

	// The image: non-root, one binary for every role, health on /health/live,
	// the ONNX Runtime library where ONNXRUNTIME_LIB says.
	if u := strings.SplitN(run.user, ":", 2)[0]; u == "" || u == "0" || u == "root" {
		t.Errorf("the image runs as %q; it must not run as root", run.user)
	}
	if !slices.Equal(run.entry, []string{"portiere"}) || !slices.Equal(run.cmd, []string{"api"}) {
		t.Errorf("ENTRYPOINT %v CMD %v, want [portiere] [api]: one image, the role as the command", run.entry, run.cmd)
	}
	if h := strings.Join(run.health, " "); !strings.Contains(h, "/health/live") || !strings.Contains(h, "curl") {
		t.Errorf("HEALTHCHECK %q does not probe /health/live", h)
	} else if !slices.Contains(run.apt, "curl") {
		t.Error("HEALTHCHECK uses curl, which the runtime stage does not install")
	}
	var ortLib string
	for _, c := range run.copies {
		if c.From == "onnxruntime" {
			ortLib = c.DestPath
		}
		for _, src := range c.SourcePaths {
			if strings.Contains(src, ".index") || strings.Contains(src, "models") || strings.Contains(src, ".onnx") {
				t.Errorf("runtime stage copies %s: the index and the model come from volumes", src)
			}
		}
	}
	if ortLib == "" || run.env["ONNXRUNTIME_LIB"] != ortLib {
		t.Errorf("ONNX Runtime copied to %q, ONNXRUNTIME_LIB=%q", ortLib, run.env["ONNXRUNTIME_LIB"])
	}
	if p := run.env["FAISS_INDEX_PATH"]; p != seedIndexPath {
		t.Errorf("image FAISS_INDEX_PATH=%q, the seed's is %s", p, seedIndexPath)
	}
}

// TestDockerfileCopiesExist: every COPY from the build context names files
// that exist and that .dockerignore does not exclude, and no source file the
// binary is built from is excluded.
func TestDockerfileCopiesExist(t *testing.T) {
	stages := parseDockerfile(t)
	ign := dockerignore(t)
	for _, st := range stages {
		for _, c := range st.copies {
			if c.From != "" {
				if !slices.ContainsFunc(stages, func(s stage) bool { return s.name == c.From }) {
					t.Errorf("stage %s copies from unknown stage %q", st.name, c.From)
				}
				continue
			}
			for _, src := range c.SourcePaths {
				matches, _ := filepath.Glob(filepath.Join(repoRoot, src))
				if len(matches) == 0 {
					t.Errorf("stage %s: COPY %s: no such file in the build context", st.name, src)
				}
				if src != "." && excluded(t, ign, src) {
					t.Errorf("stage %s: COPY %s is excluded by .dockerignore", st.name, src)
				}
			}
		}
	}
	// Every file `go build ./cmd/portiere` reads from the main module.
	list := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,CFiles,CXXFiles,HFiles,EmbedFiles", "./cmd/portiere")
	list.Dir = repoRoot
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, _ := filepath.Abs(repoRoot)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			Dir                                                     string
			Module                                                  *struct{ Main bool }
			GoFiles, CgoFiles, CFiles, CXXFiles, HFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		for _, files := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.HFiles, p.EmbedFiles} {
			for _, f := range files {
				rel, _ := filepath.Rel(root, filepath.Join(p.Dir, f))
				n++
				if excluded(t, ign, filepath.ToSlash(rel)) {
					t.Errorf(".dockerignore excludes %s, which the build needs", rel)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("go list found no source files of cmd/portiere")
	}
}

func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(repoRoot + "/.dockerignore")
	if err != nil {
		t.Fatalf(".dockerignore: %v (without it the whole checkout, data included, is sent to the builder)", err)
	}
	defer f.Close()
	pats, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(pats)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func excluded(t *testing.T, pm *patternmatcher.PatternMatcher, p string) bool {
	ok, err := pm.MatchesOrParentMatches(p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestDockerfileBuildAndRuntimeLibraries runs the build stage's `go build`
// outside Docker, then maps every shared library the binary links (ldd) —
// and those ONNX Runtime links — to its Debian package (dpkg -S): the
// runtime stage must install each. It catches an image whose binary cannot
// start although the host, which has the libraries, runs it fine.
func TestDockerfileBuildAndRuntimeLibraries(t *testing.T) {
	for _, tool := range []string{"ldd", "dpkg", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: this check runs on Debian", tool)
		}
	}
	stages := parseDockerfile(t)
	build := stageNamed(t, stages, "build")
	run := stages[len(stages)-1]

	var buildCmd string
	for _, r := range build.runs {
		if strings.Contains(r, "go build") {
			buildCmd = r
		}
	}
	if buildCmd == "" {
		t.Fatal("the build stage runs no go build")
	}
	out := t.TempDir()
	vars := map[string]string{}
	for k, v := range build.args {
		vars[k] = v
	}
	cmdline := os.Expand(strings.ReplaceAll(buildCmd, "/out/", out+"/"), func(k string) string { return vars[k] })
	if strings.Contains(cmdline, "/out") {
		t.Fatalf("build command writes outside /out/: %s", buildCmd)
	}
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build command fails outside Docker:\n%s\n%s", cmdline, b)
	}
	bins, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(bins) != 1 {
		t.Fatalf("the build wrote %v, want one binary", bins)
	}

	objects := map[string]string{"portiere": bins[0]}
	if lib, err := filepath.Abs(repoRoot + "/lib/libonnxruntime.so.1"); err == nil {
		if _, err := os.Stat(lib); err == nil {
			objects["ONNX Runtime"] = lib
		} else if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Errorf("lib/libonnxruntime.so.1 missing (scripts/bootstrap.sh fetches it): cannot check what it links")
		}
	}
	for what, obj := range objects {
		for lib, file := range ldd(t, obj) {
			pkg := debianPackage(t, file)
			if pkg == "" {
				t.Errorf("%s links %s (%s), which no Debian package owns", what, lib, file)
				continue
			}
			// libc6 is the C library every Debian image is made of.
			if pkg != "libc6" && !slices.Contains(run.apt, pkg) {
				t.Errorf("%s links %s from package %s, which the runtime stage does not install (it installs %v)", what, lib, pkg, run.apt)
			}
		}
	}
}

var lddLine = regexp.MustCompile(`^\s*(\S+)\s+=>\s+(\S+)\s+\(`)

// ldd maps each needed library (soname) to the file the loader resolves.
func ldd(t *testing.T, obj string) map[string]string {
	t.Helper()
	out, err := exec.Command("ldd", obj).CombinedOutput()
	if err != nil {
		t.Fatalf("ldd %s: %v\n%s", obj, err, out)
	}
	libs := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "not found") {
			t.Errorf("ldd %s: %s", obj, strings.TrimSpace(l))
		}
		if m := lddLine.FindStringSubmatch(l); m != nil {
			libs[m[1]] = m[2]
		}
	}
	if len(libs) == 0 {
		t.Fatalf("ldd %s lists no libraries:\n%s", obj, out)
	}
	return libs
}

// debianPackage names the package owning file, trying the path ldd gave,
// its /usr twin (merged /usr) and the file its symlinks resolve to
// (alternatives such as libopenblas.so.0).
func debianPackage(t *testing.T, file string) string {
	t.Helper()
	cands := []string{file}
	if strings.HasPrefix(file, "/usr/") {
		cands = append(cands, strings.TrimPrefix(file, "/usr"))
	} else {
		cands = append(cands, "/usr"+file)
	}
	if real, err := filepath.EvalSymlinks(file); err == nil {
		cands = append(cands, real)
	}
	for _, c := range cands {
		out, err := exec.Command("dpkg", "-S", c).Output()
		if err != nil {
			continue
		}
		line := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
		pkg, _, ok := strings.Cut(line, ": ")
		if !ok || strings.Contains(pkg, "diversion") {
			continue
		}
		pkg, _, _ = strings.Cut(strings.Split(pkg, ",")[0], ":") // libfoo:amd64
		return strings.TrimSpace(pkg)
	}
	return ""
}

// compareVersions compares dotted version numbers ("1.26.10" > "1.26.8").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return 0
}
