package check

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/config"
)

const nginxDir = repoRoot + "/deploy/nginx"

var nginxHosts = []string{"api.yourdomain.com", "cloud.yourdomain.com", "mapper.yourdomain.com"}

// TestNginxConfig runs `nginx -t` on deploy/nginx with a certificate made
// here, installed the way docs/deployment.md says (conf.d + snippets), inside
// a minimal nginx.conf in a temporary prefix.
func TestNginxConfig(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if nginx, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
				t.Fatal("nginx not installed (scripts/bootstrap.sh installs it)")
			}
			t.Skip("nginx not installed; run scripts/bootstrap.sh")
		}
	}
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, nginxHosts)
	for _, d := range []string{"snippets", "conf.d", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	site := readNginx(t, "portiere.conf")
	site = strings.NewReplacer(
		"/etc/letsencrypt/live/yourdomain.com/fullchain.pem", cert,
		"/etc/letsencrypt/live/yourdomain.com/privkey.pem", key,
		"/etc/nginx/snippets/", filepath.Join(dir, "snippets")+"/",
	).Replace(site)
	if refs := regexp.MustCompile(`(?m)^[^#\n]*(/etc/\S+)`).FindAllString(site, -1); len(refs) > 0 {
		t.Fatalf("portiere.conf refers to files the test did not place: %q", refs)
	}
	write(t, filepath.Join(dir, "conf.d", "portiere.conf"), site)
	for _, s := range []string{"portiere-tls.conf", "portiere-proxy.conf"} {
		write(t, filepath.Join(dir, "snippets", s), readNginx(t, s))
	}
	tmp := filepath.Join(dir, "tmp")
	write(t, filepath.Join(dir, "nginx.conf"), `pid `+filepath.Join(dir, "nginx.pid")+`;
error_log `+filepath.Join(dir, "logs", "error.log")+`;
events {}
http {
    access_log off;
    client_body_temp_path `+tmp+`/body;
    proxy_temp_path `+tmp+`/proxy;
    fastcgi_temp_path `+tmp+`/fastcgi;
    uwsgi_temp_path `+tmp+`/uwsgi;
    scgi_temp_path `+tmp+`/scgi;
    include `+filepath.Join(dir, "conf.d", "portiere.conf")+`;
}
`)
	out, err := exec.Command(nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "logs", "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t rejects the configuration: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t warns:\n%s", out)
	}
}

// TestNginxConfigShape: the redirect, one TLS server per host proxying to
// the port the compose files publish, and streaming-friendly proxying.
func TestNginxConfigShape(t *testing.T) {
	site := readNginx(t, "portiere.conf")
	proxy := readNginx(t, "portiere-proxy.conf")
	if !regexp.MustCompile(`listen 80;[\s\S]*return 301 https://\$host\$request_uri;`).MatchString(site) {
		t.Error("no HTTP to HTTPS redirect")
	}
	for host, upstream := range map[string]string{
		"api.yourdomain.com": "127.0.0.1:8000", "cloud.yourdomain.com": "127.0.0.1:3000", "mapper.yourdomain.com": "127.0.0.1:3001",
	} {
		srv := regexp.MustCompile(`listen 443 ssl[^;]*;[^}]*server_name ` + regexp.QuoteMeta(host) + `;[\s\S]*?proxy_pass http://(\w+);`).FindStringSubmatch(site)
		if srv == nil {
			t.Errorf("no TLS server for %s", host)
			continue
		}
		if !regexp.MustCompile(`upstream ` + srv[1] + ` \{\s*server ` + regexp.QuoteMeta(upstream) + `;`).MatchString(site) {
			t.Errorf("%s proxies to upstream %s, which is not %s", host, srv[1], upstream)
		}
	}
	for _, d := range []string{"proxy_buffering off;", "proxy_read_timeout 3600s;", "proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;", "proxy_set_header X-Forwarded-Proto $scheme;"} {
		if !strings.Contains(proxy, d) {
			t.Errorf("portiere-proxy.conf lacks %q (live progress streams through it)", d)
		}
	}
}

func readNginx(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nginxDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// selfSigned writes a certificate for hosts and its key; it returns their paths.
func selfSigned(t *testing.T, dir string, hosts []string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	write(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

// TestNginxBodySizeAboveUploads: the API host accepts request bodies larger
// than the biggest upload the production API takes (UPLOAD_MAX_BYTES as the
// production compose file sets it), so an allowed upload never meets
// nginx's 413 first.
func TestNginxBodySizeAboveUploads(t *testing.T) {
	site := readNginx(t, "portiere.conf")
	m := regexp.MustCompile(`server_name api\.yourdomain\.com;[^}]*?client_max_body_size (\S+);`).FindStringSubmatch(site)
	if m == nil {
		t.Fatal("the API server sets no client_max_body_size (nginx's default, 1m, is below UPLOAD_MAX_BYTES)")
	}
	limit := nginxSize(t, m[1])
	p := loadCompose(t, "docker-compose.prod.yaml", prodEnv)
	e := env(p.Services["api"])
	cfg, err := config.Load(config.ModeAPI, func(k string) string { return e[k] })
	if err != nil {
		t.Fatal(err)
	}
	if limit <= cfg.HTTP.UploadMaxBytes {
		t.Errorf("nginx client_max_body_size %s (%d bytes) is not above UPLOAD_MAX_BYTES %d", m[1], limit, cfg.HTTP.UploadMaxBytes)
	}
}

// nginxSize parses an nginx size (512, 64k, 100m, 1g) into bytes.
func nginxSize(t *testing.T, s string) int64 {
	t.Helper()
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	return n * mult
}

// TestNginxBodySizeAboveKYCDocuments: the mapper host accepts request bodies
// larger than the biggest KYC document the production mapper takes
// (MAPPER_KYC_MAX_BYTES as the production compose file sets it), so an
// allowed upload never meets nginx's 413 first.
func TestNginxBodySizeAboveKYCDocuments(t *testing.T) {
	site := readNginx(t, "portiere.conf")
	m := regexp.MustCompile(`server_name mapper\.yourdomain\.com;[^}]*?client_max_body_size (\S+);`).FindStringSubmatch(site)
	if m == nil {
		t.Fatal("the mapper server sets no client_max_body_size (nginx's default, 1m, is below MAPPER_KYC_MAX_BYTES)")
	}
	limit := nginxSize(t, m[1])
	p := loadCompose(t, "docker-compose.prod.yaml", prodEnv)
	e := env(p.Services["mapper"])
	cfg, err := config.Load(config.ModeWeb, func(k string) string { return e[k] })
	if err != nil {
		t.Fatal(err)
	}
	if limit <= cfg.Mapper.KYCMaxBytes {
		t.Errorf("nginx client_max_body_size %s (%d bytes) on the mapper host is not above MAPPER_KYC_MAX_BYTES %d", m[1], limit, cfg.Mapper.KYCMaxBytes)
	}
}
