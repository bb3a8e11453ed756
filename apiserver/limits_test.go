package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/sourcefile"
)

// The limits of docs/reliability.md ("Limits") not tested elsewhere: each
// answers a 4xx naming the limit, and what is refused stores nothing.
// The body size limits are TestUploadAboveTheJSONBodyLimit and
// TestBadUploadsStoreNothing; page sizes TestConceptMappingsListing and
// TestConceptSearchValidation; MAP_SYNC_MAX_CODES
// TestConceptMapOverTheLimitIs413.
func TestQueryAndFieldLengthLimits(t *testing.T) {
	t.Parallel()
	s, key := conceptServer(t)
	at := strings.Repeat("a", apiserver.MaxQueryBytes-len("dialysis ")) // exactly the limit with "dialysis "
	if code, body, _ := post(t, s, key, "/api/v1/concepts/search", `{"query": "dialysis `+at+`"}`); code != 200 {
		t.Errorf("query of %d bytes: %d %v", apiserver.MaxQueryBytes, code, body)
	}
	code, body, _ := post(t, s, key, "/api/v1/concepts/search", `{"query": "dialysis `+at+`b"}`)
	if d, _ := body["detail"].(string); code != 422 || !strings.Contains(d, "over the limit of 1000 bytes") || !strings.Contains(d, "1001 bytes") {
		t.Errorf("query of %d bytes: %d %v", apiserver.MaxQueryBytes+1, code, body)
	}

	w := newItemsWorld(t, 10)
	list := "/api/v1/projects/" + w.pa.ID + "/concept-mappings"
	if st, body := w.call(t, "GET", list+"?q="+strings.Repeat("x", apiserver.MaxQueryBytes), w.readA, ""); st != 200 {
		t.Errorf("listing with q at the limit: %d %v", st, body)
	}
	if st, body := w.call(t, "GET", list+"?q="+strings.Repeat("x", apiserver.MaxQueryBytes+1), w.readA, ""); st != 422 || !strings.Contains(detail(body), "q: is 1001 bytes long, over the limit of 1000 bytes") {
		t.Errorf("listing with q over the limit: %d %v", st, body)
	}
	for _, k := range []string{"0", "101"} {
		st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "c0", "description": "hemodialysis"}], "top_k": `+k+`}`)
		if st != 422 || !strings.Contains(detail(body), "top_k must be between 1 and 100") {
			t.Errorf("sync map with top_k %s: %d %v", k, st, body)
		}
	}
	long := strings.Repeat("d", sourcefile.DefaultMaxFieldBytes+1)
	for name, item := range map[string]string{
		"description": `{"code": "c1", "description": "` + long + `"}`,
		"code":        `{"code": "` + long + `", "description": "hemodialysis"}`,
		"category":    `{"code": "c1", "description": "Glucose", "category": "` + long + `"}`,
		"specimen":    `{"code": "c1", "description": "Glucose", "specimen": "` + long + `"}`,
		"unit":        `{"code": "c1", "description": "Glucose", "unit": "` + long + `"}`,
	} {
		st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "c0", "description": "hemodialysis"}, `+item+`]}`)
		if st != 422 || !strings.Contains(detail(body), "codes[1]") || !strings.Contains(detail(body), name) || !strings.Contains(detail(body), "4096 bytes") {
			t.Errorf("sync map with a %s over the field limit: %d %v", name, st, body)
		}
	}
	for _, field := range []string{"category", "specimen", "unit"} {
		st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "c0", "description": "Glucose", "`+field+`": "`+long[1:]+`"}]}`)
		if st != 200 {
			t.Errorf("sync map with a %s at the field limit: %d %v", field, st, body)
		}
	}
}

// An uploaded CSV with more columns or rows than sourcefile's limits is
// 413 naming the limit, and stores nothing.
func TestUploadRowAndColumnLimits(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "limits")

	header := func(n int) string {
		cols := []string{"code", "description"}
		for i := len(cols); i < n; i++ {
			cols = append(cols, fmt.Sprintf("extra%d", i))
		}
		return strings.Join(cols, ",") + "\n"
	}
	row := func(n int) string { return "A1,Sodium" + strings.Repeat(",", n-2) + "\n" }
	if got := w.upload(t, "member", id, uploadForm{name: "wide-ok", file: header(sourcefile.DefaultMaxColumns) + row(sourcefile.DefaultMaxColumns)}); got.status != 201 {
		t.Fatalf("%d columns: %d %v", sourcefile.DefaultMaxColumns, got.status, detail(got.body))
	}
	got := w.upload(t, "member", id, uploadForm{name: "too-wide", file: header(sourcefile.DefaultMaxColumns+1) + row(sourcefile.DefaultMaxColumns+1)})
	if got.status != 413 || !strings.Contains(detail(got.body), "limit of 256 columns") {
		t.Errorf("%d columns: %d %v", sourcefile.DefaultMaxColumns+1, got.status, detail(got.body))
	}
	w.counts(t, id, 1, 1)

	if testing.Short() {
		t.Skip("-short: the row limit needs a file of a million rows")
	}
	var file strings.Builder
	file.WriteString("code,description\n")
	for i := range sourcefile.DefaultMaxRows + 1 {
		fmt.Fprintf(&file, "%d,x\n", i)
	}
	got = w.upload(t, "member", id, uploadForm{name: "too-long", file: file.String()})
	if got.status != 413 || !strings.Contains(detail(got.body), "limit of 1000000 rows") {
		t.Errorf("%d rows: %d %v", sourcefile.DefaultMaxRows+1, got.status, detail(got.body))
	}
	w.counts(t, id, 1, 1)
}

// heldUpload is an upload whose body is still arriving: its multipart
// header and first rows are sent, the rest waits for finish.
type heldUpload struct {
	pw      *io.PipeWriter
	mw      *multipart.Writer
	written chan struct{} // the first part is in the pipe
	answer  chan uploadAnswer
}

func startHeldUpload(t *testing.T, base, key, project, name string) *heldUpload {
	t.Helper()
	pr, pw := io.Pipe()
	h := &heldUpload{pw: pw, mw: multipart.NewWriter(pw), written: make(chan struct{}), answer: make(chan uploadAnswer, 1)}
	req, err := http.NewRequest("POST", base+"/api/v1/projects/"+project+"/sources", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", h.mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	go func() {
		h.answer <- answerOf(http.DefaultClient.Do(req))
	}()
	go func() {
		// Written from here: the pipe blocks until the client sends it.
		defer close(h.written)
		h.mw.WriteField("name", name)
		fw, _ := h.mw.CreateFormFile("file", name+".csv")
		io.WriteString(fw, "code,description\nA1,Sodium\n")
	}()
	return h
}

func (h *heldUpload) finish(t *testing.T) uploadAnswer {
	t.Helper()
	go func() {
		<-h.written
		h.mw.Close()
		h.pw.Close()
	}()
	select {
	case a := <-h.answer:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("held upload: no answer in 30 s")
	}
	return uploadAnswer{}
}

func answerOf(res *http.Response, err error) uploadAnswer {
	if err != nil {
		return uploadAnswer{status: -1, body: map[string]any{"detail": err.Error()}}
	}
	defer res.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		out["detail"] = string(raw)
	}
	out["retry-after"] = res.Header.Get("Retry-After")
	return uploadAnswer{status: res.StatusCode, body: out}
}

// postUpload sends a whole upload over HTTP.
func postUpload(base, key, project, name, file string) uploadAnswer {
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", name)
	fw, _ := mw.CreateFormFile("file", name+".csv")
	io.WriteString(fw, file)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/projects/"+url.PathEscape(project)+"/sources", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	return answerOf(http.DefaultClient.Do(req))
}

// An organization has at most mappingjob.DefaultMaxConcurrentUploads
// uploads in progress: a third, while two bodies are still arriving, is
// 429 naming the limit with Retry-After; another organization is not
// held up; a slot comes back when its upload is stored or refused.
func TestConcurrentUploadsPerOrganization(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "uploads")
	st, body := w.call(t, "other", "POST", "/projects", `{"name":"b-uploads"}`)
	if st != 201 {
		t.Fatalf("B's project: %d %v", st, body)
	}
	idB := body["id"].(string)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.s.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() { cancel(); <-served })
	base := "http://" + ln.Addr().String()

	first := startHeldUpload(t, base, w.keys["member"], id, "first")
	second := startHeldUpload(t, base, w.keys["admin"], id, "second")
	// Until both held uploads have taken their slot, a third gets one too
	// and is refused for its empty file (422, storing nothing); after, it
	// is 429.
	var refused uploadAnswer
	deadline := time.Now().Add(10 * time.Second)
	for {
		refused = postUpload(base, w.keys["owner"], id, "third", "")
		if refused.status != 422 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if refused.status != 429 || !strings.Contains(detail(refused.body), "already has 2 uploads in progress, the limit of concurrent uploads per organization") ||
		refused.body["retry-after"] != "5" {
		t.Fatalf("third upload while two are in progress: %d %v", refused.status, refused.body)
	}
	if got := postUpload(base, w.keys["other"], idB, "b", "code,description\nB1,Potassium\n"); got.status != 201 {
		t.Errorf("another organization's upload meanwhile: %d %v", got.status, detail(got.body))
	}
	for _, h := range []*heldUpload{first, second} {
		if got := h.finish(t); got.status != 201 || got.body["distinct_codes"] != 1.0 {
			t.Errorf("held upload: %d %v", got.status, got.body)
		}
	}
	w.counts(t, id, 2, 2)
	// Every answer gave its slot back, refused ones included.
	for i := range 3 {
		if got := postUpload(base, w.keys["owner"], id, "bad", ""); got.status != 422 {
			t.Errorf("empty file %d after the held uploads: %d %v", i, got.status, detail(got.body))
		}
	}
	if got := postUpload(base, w.keys["owner"], id, "after", "code,description\nC1,Chloride\n"); got.status != 201 {
		t.Errorf("upload after the held ones: %d %v", got.status, detail(got.body))
	}
	w.counts(t, id, 3, 3)
}

// A schema suggestion takes at most 10,000 columns a request.
func TestSchemaSuggestColumnLimit(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	cols := func(n int) string {
		c := make([]string, n)
		for i := range c {
			c[i] = fmt.Sprintf(`{"name": "c%d"}`, i)
		}
		return `{"columns": [` + strings.Join(c, ",") + `]}`
	}
	if st, body := w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.write, cols(10001)); st != 422 || !strings.Contains(detail(body), "10001 columns: at most 10000 per request") {
		t.Errorf("10,001 columns: %d %v", st, detail(body))
	}
	if st, body := w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.write, cols(3)); st != 200 {
		t.Errorf("3 columns: %d %v", st, detail(body))
	}
}
