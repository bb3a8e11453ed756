package check

import (
	"bytes"
	"errors"
	"io"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/portiere/portiere/config"
)

const chartDir = repoRoot + "/deploy/helm/portiere"

// manifest is a rendered chart, decoded into the Kubernetes API types.
type manifest struct {
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     map[string]*corev1.Service
	pvcs         map[string]*corev1.PersistentVolumeClaim
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	jobs         map[string]*batchv1.Job
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	ingresses    map[string]*networkingv1.Ingress
}

// render renders the chart as `helm install portiere -n portiere -f
// valuesFile` would, with each of overrides (YAML, like a further -f) over
// it, and decodes every object strictly: a field the API type does not
// have fails the test.
func render(t *testing.T, valuesFile string, overrides ...string) *manifest {
	t.Helper()
	files, err := renderFiles(t, valuesFile, overrides...)
	if err != nil {
		t.Fatalf("chart does not render with %q %v: %v", valuesFile, overrides, err)
	}
	m := &manifest{
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, pvcs: map[string]*corev1.PersistentVolumeClaim{},
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		jobs: map[string]*batchv1.Job{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, ingresses: map[string]*networkingv1.Ingress{},
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		for _, doc := range splitYAML(files[name]) {
			m.add(t, name, doc)
		}
	}
	return m
}

// renderFiles renders the chart's templates; see render.
func renderFiles(t *testing.T, valuesFile string, overrides ...string) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("chart does not load: %v", err)
	}
	vals := chartutil.Values{}
	if valuesFile != "" {
		if vals, err = chartutil.ReadValuesFile(filepath.Join(chartDir, valuesFile)); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range overrides {
		ov, err := chartutil.ReadValues([]byte(o))
		if err != nil {
			t.Fatal(err)
		}
		vals = chartutil.CoalesceTables(ov, vals) // the override wins
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: "portiere", Namespace: "portiere", Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Render(ch, rv)
}

func splitYAML(s string) [][]byte {
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufioReader(s))
	for {
		b, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			return append(docs, []byte(s)) // let the strict decoder report it
		}
		if len(bytes.TrimSpace(stripComments(b))) > 0 {
			docs = append(docs, b)
		}
	}
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func (m *manifest) add(t *testing.T, file string, doc []byte) {
	t.Helper()
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Errorf("%s: not YAML: %v\n%s", file, err, doc)
		return
	}
	strict := func(obj interface{ GetName() string }) string {
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s: %s %s does not decode strictly: %v", file, head.APIVersion, head.Kind, err)
		}
		n := obj.GetName()
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			t.Errorf("%s: %s name %q: %v", file, head.Kind, n, errs)
		}
		return n
	}
	switch head.APIVersion + "/" + head.Kind {
	case "v1/ConfigMap":
		o := &corev1.ConfigMap{}
		m.configMaps[strict(o)] = o
	case "v1/Secret":
		o := &corev1.Secret{}
		m.secrets[strict(o)] = o
	case "v1/Service":
		o := &corev1.Service{}
		n := strict(o)
		if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
			t.Errorf("%s: Service name %q: %v", file, n, errs)
		}
		m.services[n] = o
	case "v1/PersistentVolumeClaim":
		o := &corev1.PersistentVolumeClaim{}
		m.pvcs[strict(o)] = o
	case "apps/v1/Deployment":
		o := &appsv1.Deployment{}
		m.deployments[strict(o)] = o
	case "apps/v1/StatefulSet":
		o := &appsv1.StatefulSet{}
		m.statefulSets[strict(o)] = o
	case "batch/v1/Job":
		o := &batchv1.Job{}
		m.jobs[strict(o)] = o
	case "policy/v1/PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		m.pdbs[strict(o)] = o
	case "autoscaling/v2/HorizontalPodAutoscaler":
		o := &autoscalingv2.HorizontalPodAutoscaler{}
		m.hpas[strict(o)] = o
	case "networking.k8s.io/v1/Ingress":
		o := &networkingv1.Ingress{}
		m.ingresses[strict(o)] = o
	default:
		t.Errorf("%s: unexpected object %s %s", file, head.APIVersion, head.Kind)
	}
}

// pods lists every pod template of the manifest by owner.
func (m *manifest) pods() map[string]*corev1.PodTemplateSpec {
	p := map[string]*corev1.PodTemplateSpec{}
	for n, d := range m.deployments {
		p["Deployment/"+n] = &d.Spec.Template
	}
	for n, s := range m.statefulSets {
		// The controller adds a volume per claim template to each pod.
		tpl := s.Spec.Template.DeepCopy()
		for _, c := range s.Spec.VolumeClaimTemplates {
			tpl.Spec.Volumes = append(tpl.Spec.Volumes, corev1.Volume{Name: c.Name,
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}})
		}
		p["StatefulSet/"+n] = tpl
	}
	for n, j := range m.jobs {
		p["Job/"+n] = &j.Spec.Template
	}
	return p
}

func TestChartDefaultValues(t *testing.T) {
	m := render(t, "")
	checkChart(t, m)
	if _, ok := m.secrets["portiere-secrets"]; !ok {
		t.Error("with no existingSecret the chart must create portiere-secrets")
	}
	checkWebApps(t, m, 1)
}

// checkWebApps: both web apps, the cloud dashboard and the mapper, run with
// replicas pods behind a Service.
func checkWebApps(t *testing.T, m *manifest, replicas int32) {
	t.Helper()
	for _, app := range []string{"cloud", "mapper"} {
		name := "portiere-" + app
		d := m.deployments[name]
		if d == nil || d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
			t.Errorf("%s: want a Deployment with %d replicas", name, replicas)
		} else if args := d.Spec.Template.Spec.Containers[0].Args; len(args) < 1 || args[0] != "web" || webApp(args) != app {
			t.Errorf("%s runs %v, want `portiere web --app=%s`", name, args, app)
		}
		if _, ok := m.services[name]; !ok {
			t.Errorf("no Service %s", name)
		}
	}
}

// chartMapperValues sets every mapper setting of the chart to a value
// other than its default.
const chartMapperValues = `mapper:
  lineChannelID: "1660000001"
  liffID: 1660000001-abcdef
  lineAPIBaseURL: https://line.example.org
  adminLineUserIDs: [Uadmin1, Uadmin2]
  kycMaxBytes: 5242880
  kycKeys: k1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=
  lineChannelAccessToken: a-line-channel-token
  payoutMinCents: 2500
  consensusMinVotes: 5
`

// TestChartMapper: the mapper is on by default; its settings reach the
// processes that use them — compared as config.Load parses them
// (Config.Mapper), with the chart's Secret resolved — the mapper app all of
// them but the workers' Messaging API token, the workers the token, payout
// minimum and consensus votes, the API the votes. Its KYC key comes from
// the Secret (generated when not given, in the form config accepts); the
// mapper gets no JWT or operator secret. Disabled, it is not rendered and
// no Ingress host may route to it.
func TestChartMapper(t *testing.T) {
	def := render(t, "")
	if s := def.secrets["portiere-secrets"]; s == nil {
		t.Fatal("no portiere-secrets")
	} else if _, err := config.Load(config.ModeWeb, func(k string) string {
		return map[string]string{"DB_PASSWORD": "p", "API_KEY_SALT": strings.Repeat("s", config.MinSecretLength), "MAPPER_KYC_KEYS": string(s.Data["MAPPER_KYC_KEYS"])}[k]
	}); err != nil || len(s.Data["MAPPER_KYC_KEYS"]) == 0 {
		t.Errorf("the generated MAPPER_KYC_KEYS %q is not a key the binary accepts: %v", s.Data["MAPPER_KYC_KEYS"], err)
	}

	m := render(t, "", chartMapperValues)
	checkChart(t, m)
	want := map[string]string{"LINE_CHANNEL_ID": "1660000001", "NEXT_PUBLIC_LIFF_ID": "1660000001-abcdef",
		"LINE_API_BASE_URL": "https://line.example.org", "ADMIN_LINE_USER_IDS": "Uadmin1,Uadmin2",
		"MAPPER_KYC_MAX_BYTES": "5242880", "MAPPER_KYC_KEYS": "k1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
		"LINE_CHANNEL_ACCESS_TOKEN": "a-line-channel-token", "MAPPER_PAYOUT_MIN_CENTS": "2500", "MAPPER_CONSENSUS_MIN_VOTES": "5"}
	exp, err := config.Load(config.ModeCLI, func(k string) string { return want[k] })
	if err != nil {
		t.Fatal(err)
	}
	secretKeys := map[string]bool{}
	for k := range m.secrets["portiere-secrets"].Data {
		secretKeys[k] = true
	}
	seen := map[string]bool{}
	for owner, pod := range m.pods() {
		for _, c := range pod.Spec.Containers {
			role := containerRole(c)
			if role == "" || modeOf[role] == "" {
				continue
			}
			e := podEnv(t, owner+"/"+c.Name, c, m, secretKeys)
			cfg, err := config.Load(modeOf[role], func(k string) string { return e[k] })
			if err != nil {
				continue // checkChart reported it
			}
			got, ex := cfg.Mapper, exp.Mapper
			switch {
			case role == "web" && webApp(c.Args) == "mapper":
				seen["mapper"] = true
				got.LineChannelToken, ex.LineChannelToken = "", ""
				got.Port, ex.Port = 0, 0
				if !reflect.DeepEqual(got, ex) {
					t.Errorf("%s: mapper settings\n%+v\ndiffer from the values'\n%+v", owner, got, ex)
				}
				if !slices.ContainsFunc(c.Env, func(ev corev1.EnvVar) bool {
					return ev.Name == "MAPPER_KYC_KEYS" && ev.ValueFrom != nil && ev.ValueFrom.SecretKeyRef != nil
				}) {
					t.Errorf("%s: MAPPER_KYC_KEYS must come from the Secret", owner)
				}
				for _, v := range []string{"JWT_SECRET", "ADMIN_TOKEN"} {
					if e[v] != "" {
						t.Errorf("%s: the mapper does not use %s; do not hand it over", owner, v)
					}
				}
			case role == "worker":
				seen["worker"] = true
				if got.LineChannelToken != ex.LineChannelToken || got.LineAPIURL != ex.LineAPIURL ||
					got.PayoutMinCents != ex.PayoutMinCents || got.ConsensusMinVotes != ex.ConsensusMinVotes {
					t.Errorf("%s: the worker reads token %q, LINE %q, minimum %d, votes %d; the values say %q, %q, %d, %d", owner,
						got.LineChannelToken, got.LineAPIURL, got.PayoutMinCents, got.ConsensusMinVotes,
						ex.LineChannelToken, ex.LineAPIURL, ex.PayoutMinCents, ex.ConsensusMinVotes)
				}
			case role == "api":
				if got.ConsensusMinVotes != ex.ConsensusMinVotes {
					t.Errorf("%s: the API resolves votes with %d, the values say %d", owner, got.ConsensusMinVotes, ex.ConsensusMinVotes)
				}
			}
		}
	}
	if !seen["mapper"] || !seen["worker"] {
		t.Errorf("no mapper or worker pod rendered: %v", seen)
	}

	off := render(t, "", "mapper: {enabled: false}")
	if _, ok := off.deployments["portiere-mapper"]; ok {
		t.Error("mapper.enabled=false still renders portiere-mapper")
	}
	_, err = renderFiles(t, "values-production.yaml", "mapper: {enabled: false}")
	if err == nil || !strings.Contains(err.Error(), "mapper.enabled") {
		t.Errorf("an Ingress host routing to the disabled mapper renders (err %v); it must fail and say why", err)
	}
}

// TestChartStripe: with billing enabled, every Stripe variable config reads
// reaches the API and the workers (the keys from the Secret), and the
// dashboard, which takes no payments, gets no Stripe secret.
func TestChartStripe(t *testing.T) {
	m := render(t, "", `stripe: {enabled: true, secretKey: sk_test_x, webhookSecret: whsec_x, pricePro: price_pro, priceEnterprise: price_ent, priceMappedItems: price_items, apiURL: "http://stripe-mock:12111"}`)
	checkChart(t, m)
	var stripe []string
	for _, v := range config.Variables {
		if strings.HasPrefix(v, "STRIPE_") {
			stripe = append(stripe, v)
		}
	}
	secret := m.secrets["portiere-secrets"]
	for _, k := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} {
		if secret == nil || len(secret.Data[k]) == 0 {
			t.Errorf("the chart's Secret lacks %s", k)
		}
	}
	for owner, pod := range m.pods() {
		for _, c := range pod.Spec.Containers {
			role := containerRole(c)
			if role == "" {
				continue
			}
			e := podEnv(t, owner+"/"+c.Name, c, m, nil)
			switch role {
			case "api", "worker":
				for _, v := range stripe {
					if e[v] == "" {
						t.Errorf("%s/%s: billing is enabled but %s is not set", owner, c.Name, v)
					}
				}
				for _, v := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} {
					if !slices.ContainsFunc(c.Env, func(ev corev1.EnvVar) bool {
						return ev.Name == v && ev.ValueFrom != nil && ev.ValueFrom.SecretKeyRef != nil
					}) {
						t.Errorf("%s/%s: %s must come from the Secret", owner, c.Name, v)
					}
				}
			case "web":
				if webApp(c.Args) == "mapper" {
					// Mappers' payout accounts (Stripe Connect).
					for _, v := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_URL"} {
						if e[v] == "" {
							t.Errorf("%s/%s: billing is enabled but the mapper's payout accounts lack %s", owner, c.Name, v)
						}
					}
					continue
				}
				for _, v := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "JWT_SECRET", "ADMIN_TOKEN"} {
					if e[v] != "" {
						t.Errorf("%s/%s: the dashboard does not use %s; do not hand it over", owner, c.Name, v)
					}
				}
			}
		}
	}
	if _, err := renderFiles(t, "", "stripe: {enabled: true}"); err == nil || !strings.Contains(err.Error(), "stripe.secretKey") {
		t.Errorf("stripe.enabled without keys renders (err %v); it must say which value is missing", err)
	}
}

func TestChartProductionValues(t *testing.T) {
	m := render(t, "values-production.yaml")
	checkChart(t, m)
	// The seed's production sizing.
	api := m.deployments["portiere-api"]
	if api == nil {
		t.Fatal("no API Deployment")
	}
	wantLimits(t, "api", api.Spec.Template.Spec.Containers[0].Resources, "2", "4Gi")
	if es := m.statefulSets["portiere-elasticsearch"]; es == nil || *es.Spec.Replicas != 3 ||
		!es.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().Equal(resource.MustParse("100Gi")) {
		t.Error("elasticsearch: want 3 replicas with 100Gi each (values-production.yaml)")
	} else if env := envOf(es.Spec.Template.Spec.Containers[0]); env["discovery.type"] != "" || !strings.Contains(env["cluster.initial_master_nodes"], "portiere-elasticsearch-2") {
		t.Errorf("elasticsearch with 3 replicas must discover its peers, not run single-node: %v", env)
	}
	if pg := m.statefulSets["portiere-postgres"]; pg == nil || !pg.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().Equal(resource.MustParse("50Gi")) {
		t.Error("postgres: want a 50Gi volume claim (values-production.yaml)")
	}
	if w := m.deployments["portiere-worker"]; w == nil || *w.Spec.Replicas != 4 {
		t.Error("worker: want 4 replicas (the seed's celery.workers)")
	}
	checkWebApps(t, m, 2)
	hpa := m.hpas["portiere-api"]
	if hpa == nil || hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != "portiere-api" {
		t.Error("production: no HorizontalPodAutoscaler for the API Deployment")
	} else if api.Spec.Replicas != nil {
		t.Error("with the HPA on, the Deployment must not set replicas (every upgrade would reset the scale)")
	}
	ing := m.ingresses["portiere"]
	if ing == nil {
		t.Fatal("production: no Ingress")
	}
	if ing.Annotations["cert-manager.io/cluster-issuer"] == "" {
		t.Error("Ingress: no cert-manager issuer annotation")
	}
	if ing.Annotations["nginx.ingress.kubernetes.io/proxy-buffering"] != "off" {
		t.Error("Ingress: live progress (SSE) needs proxy-buffering off")
	}
	var tlsHosts []string
	for _, tl := range ing.Spec.TLS {
		tlsHosts = append(tlsHosts, tl.Hosts...)
	}
	for _, r := range ing.Spec.Rules {
		if !slices.Contains(tlsHosts, r.Host) {
			t.Errorf("Ingress host %s has no TLS", r.Host)
		}
	}
	if len(m.secrets) != 0 {
		t.Errorf("with existingSecret the chart must not create secrets, got %d", len(m.secrets))
	}
	cm := m.configMaps["portiere-config"]
	if cm.Data["CORS_ORIGINS"] != "https://cloud.yourdomain.com,https://mapper.yourdomain.com" {
		t.Errorf("CORS_ORIGINS %q: want the cloud and mapper hosts", cm.Data["CORS_ORIGINS"])
	}
	if !slices.ContainsFunc(ing.Spec.Rules, func(r networkingv1.IngressRule) bool {
		return r.Host == "mapper.yourdomain.com" && r.HTTP != nil && len(r.HTTP.Paths) > 0 && r.HTTP.Paths[0].Backend.Service.Name == "portiere-mapper"
	}) {
		t.Error("production: the Ingress does not route mapper.yourdomain.com to portiere-mapper")
	}
	if cm.Data["NEXT_PUBLIC_API_URL"] != "https://api.yourdomain.com" {
		t.Errorf("NEXT_PUBLIC_API_URL %q: want the API's Ingress host", cm.Data["NEXT_PUBLIC_API_URL"])
	}
}

func TestChartLints(t *testing.T) {
	for _, vf := range []string{"", "values-production.yaml"} {
		vals := map[string]interface{}{}
		if vf != "" {
			v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, vf))
			if err != nil {
				t.Fatal(err)
			}
			vals = v
		}
		l := lint.All(chartDir, vals, "portiere", false)
		for _, msg := range l.Messages {
			if msg.Severity >= support.WarningSev {
				t.Errorf("helm lint (%q): %s", vf, msg)
			}
		}
	}
}

// checkChart holds a rendered chart to what the binary expects.
func checkChart(t *testing.T, m *manifest) {
	t.Helper()
	cm := m.configMaps["portiere-config"]
	if cm == nil {
		t.Fatal("no portiere-config ConfigMap")
	}
	if cm.Data["FAISS_INDEX_PATH"] != seedIndexPath {
		t.Errorf("FAISS_INDEX_PATH %q, the seed's initJob.faissIndexPath is %s", cm.Data["FAISS_INDEX_PATH"], seedIndexPath)
	}
	// Secret keys: from the rendered Secret, or the documented key set when
	// the operator brings an existing one.
	secretKeys := map[string]bool{}
	for _, s := range m.secrets {
		for k := range s.Data {
			secretKeys[k] = true
		}
	}

	roles := map[string]int{}
	for owner, pod := range m.pods() {
		// Selector/labels: a Deployment whose selector misses its pods never becomes ready.
		checkPodBasics(t, owner, pod)
		all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
		for _, c := range all {
			role := containerRole(c)
			if role == "" {
				continue
			}
			roles[role]++
			mode, ok := modeOf[role]
			if !ok {
				if role != "vocab" {
					t.Errorf("%s/%s runs `portiere %s`, not a known role", owner, c.Name, role)
				}
				mode = config.ModeMigrate // vocab import loads the migrate configuration
			}
			e := podEnv(t, owner+"/"+c.Name, c, m, secretKeys)
			for k := range e {
				if !slices.Contains(config.Variables, k) {
					t.Errorf("%s/%s sets %s, which config does not read", owner, c.Name, k)
				}
			}
			need := append(config.RequiredVariables(mode), "DB_HOST", "TEMPORAL_ADDRESS")
			if role == "web" && webApp(c.Args) == "mapper" {
				need = append(need, config.MapperRequiredVariables()...)
			}
			for _, k := range need {
				if e[k] == "" {
					t.Errorf("%s/%s (portiere %s) does not set %s", owner, c.Name, role, k)
				}
			}
			cfg, err := config.Load(mode, func(k string) string { return e[k] })
			if err != nil {
				t.Errorf("%s/%s: the binary would refuse this environment: %v", owner, c.Name, err)
				continue
			}
			for what, hp := range map[string][2]string{
				"DB_HOST":           {cfg.DB.Host, itoa(cfg.DB.Port)},
				"REDIS_HOST":        {cfg.Redis.Host, itoa(cfg.Redis.Port)},
				"TEMPORAL_ADDRESS":  {hostOf(cfg.Temporal.Address), portOf(cfg.Temporal.Address)},
				"ELASTICSEARCH_URL": {urlHost(cfg.Elasticsearch.URL), urlPort(cfg.Elasticsearch.URL)},
			} {
				if hp[0] == "" {
					continue
				}
				svc := m.services[hp[0]]
				if svc == nil {
					t.Errorf("%s/%s: %s names %q, which is no Service of the chart", owner, c.Name, what, hp[0])
				} else if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return itoa(int(p.Port)) == hp[1] }) {
					t.Errorf("%s/%s: %s port %s is not a port of Service %s", owner, c.Name, what, hp[1], hp[0])
				}
			}
			checkIndexMount(t, owner, role, c, pod, m, cfg)
			if role == "api" {
				checkAPIProbes(t, owner, c, cfg)
				checkIngressBodySize(t, m, cfg)
			}
			if role == "web" {
				checkWebProbes(t, owner, c)
				if webApp(c.Args) == "mapper" {
					checkIngressBodySizeKYC(t, m, cfg)
				}
			}
		}
	}
	for _, r := range []string{"api", "worker", "init", "migrate", "web"} {
		if roles[r] == 0 {
			t.Errorf("no container runs `portiere %s`", r)
		}
	}
	job := m.jobs["portiere-init"]
	if job == nil {
		t.Fatal("no portiere-init Job")
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("init Job restartPolicy %q, want OnFailure", job.Spec.Template.Spec.RestartPolicy)
	}
	if pdb := m.pdbs["portiere-api"]; pdb == nil || !selects(pdb.Spec.Selector.MatchLabels, m.deployments["portiere-api"].Spec.Template.Labels) {
		t.Error("no PodDisruptionBudget selecting the API pods")
	}
	for n, ing := range m.ingresses {
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				svc := m.services[p.Backend.Service.Name]
				if svc == nil {
					t.Errorf("Ingress %s routes %s%s to missing Service %s", n, r.Host, p.Path, p.Backend.Service.Name)
				} else if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == p.Backend.Service.Port.Name }) {
					t.Errorf("Ingress %s: Service %s has no port %q", n, svc.Name, p.Backend.Service.Port.Name)
				}
			}
		}
	}
	// Every Service selects some pod and targets a port it declares.
	for n, svc := range m.services {
		found := false
		for _, pod := range m.pods() {
			if !selects(svc.Spec.Selector, pod.Labels) {
				continue
			}
			found = true
			for _, sp := range svc.Spec.Ports {
				if !podHasPort(pod, sp.TargetPort) {
					t.Errorf("Service %s targets port %s, which its pods do not declare", n, sp.TargetPort.String())
				}
			}
		}
		if !found {
			t.Errorf("Service %s selects no pod of the chart", n)
		}
	}
}

// containerRole is the portiere subcommand a container runs, "" when it does
// not run the Portiere image.
func containerRole(c corev1.Container) string {
	if !strings.Contains(c.Image, "portiere") {
		return ""
	}
	args := append(append([]string(nil), c.Command...), c.Args...)
	if len(args) >= 3 && strings.HasSuffix(args[0], "sh") && args[1] == "-c" {
		return shellRole(args[2])
	}
	if len(c.Command) > 0 {
		return "?" // the entrypoint must stay portiere
	}
	if len(c.Args) == 0 {
		return "api"
	}
	return c.Args[0]
}

// podEnv resolves a container's environment as the kubelet would, with a
// stand-in value for each secret key (checked to exist).
func podEnv(t *testing.T, who string, c corev1.Container, m *manifest, secretKeys map[string]bool) map[string]string {
	e := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("%s: envFrom other than a ConfigMap", who)
			continue
		}
		cm := m.configMaps[from.ConfigMapRef.Name]
		if cm == nil {
			t.Errorf("%s: envFrom names missing ConfigMap %s", who, from.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			e[k] = v
		}
	}
	for _, v := range c.Env {
		switch {
		case v.ValueFrom == nil:
			e[v.Name] = v.Value
		case v.ValueFrom.SecretKeyRef != nil:
			ref := v.ValueFrom.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			if len(m.secrets) > 0 {
				s := m.secrets[ref.Name]
				if s == nil || s.Data[ref.Key] == nil {
					if !optional {
						t.Errorf("%s: %s comes from %s/%s, which the chart's Secret lacks", who, v.Name, ref.Name, ref.Key)
					}
					continue // an optional key the Secret lacks: unset
				}
				e[v.Name] = string(s.Data[ref.Key]) // what the kubelet would set
				continue
			}
			// An existing Secret the operator brings: a value config accepts.
			e[v.Name] = secretStandIn(v.Name)
		default:
			t.Errorf("%s: %s comes from an unexpected source", who, v.Name)
		}
	}
	return e
}

// secretStandIn is a value config accepts for a key of an existing Secret
// the chart cannot see.
func secretStandIn(name string) string {
	if name == "MAPPER_KYC_KEYS" {
		return testKYCKeys
	}
	return strings.Repeat("x", config.MinSecretLength)
}

// checkIngressBodySizeKYC: an nginx Ingress accepts request bodies larger
// than the biggest KYC document the mapper takes (MAPPER_KYC_MAX_BYTES).
func checkIngressBodySizeKYC(t *testing.T, m *manifest, cfg config.Config) {
	t.Helper()
	for n, ing := range m.ingresses {
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
			continue
		}
		if size := ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]; size == "" || nginxSize(t, size) <= cfg.Mapper.KYCMaxBytes {
			t.Errorf("Ingress %s: proxy-body-size %q is not above MAPPER_KYC_MAX_BYTES %d", n, size, cfg.Mapper.KYCMaxBytes)
		}
	}
}

// checkIndexMount: the FAISS index directory is the shared ReadWriteMany
// claim; the worker (which runs the index build) mounts it read-write, the
// API and the init Job read-only.
func checkIndexMount(t *testing.T, owner, role string, c corev1.Container, pod *corev1.PodTemplateSpec, m *manifest, cfg config.Config) {
	t.Helper()
	dir := path.Dir(cfg.Search.FAISSIndexPath)
	var mount *corev1.VolumeMount
	for i, vm := range c.VolumeMounts {
		if vm.MountPath == dir {
			mount = &c.VolumeMounts[i]
		}
	}
	if role == "web" {
		// Optional: the dashboard shows the saved index's state when it sees it.
		if mount != nil && !mount.ReadOnly {
			t.Errorf("%s/%s: the dashboard may only read the index volume", owner, c.Name)
		}
		return
	}
	if role == "migrate" || role == "vocab" {
		if mount != nil {
			t.Errorf("%s/%s (portiere %s) mounts the index volume it never uses", owner, c.Name, role)
		}
		return
	}
	if mount == nil {
		t.Errorf("%s/%s (portiere %s): nothing mounted at %s, the directory of FAISS_INDEX_PATH", owner, c.Name, role, dir)
		return
	}
	if wantRO := role != "worker"; mount.ReadOnly != wantRO {
		t.Errorf("%s/%s (portiere %s): index mount readOnly=%v, want %v", owner, c.Name, role, mount.ReadOnly, wantRO)
	}
	var claim string
	for _, v := range pod.Spec.Volumes {
		if v.Name == mount.Name && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	pvc := m.pvcs[claim]
	if pvc == nil {
		t.Errorf("%s: the index volume is not the chart's claim (%q)", owner, claim)
		return
	}
	if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("claim %s: access modes %v; API pods on several nodes and the workers share it: ReadWriteMany", claim, pvc.Spec.AccessModes)
	}
	if cfg.Search.EmbeddingModel == "onnx" && (role == "api" || role == "worker") {
		ok := slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
			return vm.ReadOnly && (vm.MountPath == cfg.Search.EmbeddingModelPath || strings.HasPrefix(cfg.Search.EmbeddingModelPath, vm.MountPath+"/"))
		})
		if !ok {
			t.Errorf("%s/%s: EMBEDDING_MODEL=onnx but %s is not on a read-only volume", owner, c.Name, cfg.Search.EmbeddingModelPath)
		}
	}
}

// checkAPIProbes: the seed's probe paths and timings, on the port API_PORT.
func checkAPIProbes(t *testing.T, owner string, c corev1.Container, cfg config.Config) {
	t.Helper()
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == cfg.HTTP.Port }) {
		t.Errorf("%s: the API listens on API_PORT %d but the container declares %v", owner, cfg.HTTP.Port, c.Ports)
	}
	for _, pr := range []struct {
		name                  string
		probe                 *corev1.Probe
		path                  string
		delay, period, thresh int32
	}{
		{"readiness", c.ReadinessProbe, "/health/ready", 30, 10, 3},
		{"liveness", c.LivenessProbe, "/health/live", 15, 20, 3},
	} {
		p := pr.probe
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", owner, pr.name)
			continue
		}
		if p.HTTPGet.Path != pr.path {
			t.Errorf("%s: %s probe on %s, want %s", owner, pr.name, p.HTTPGet.Path, pr.path)
		}
		if port := resolvePort(c, p.HTTPGet.Port); port != cfg.HTTP.Port {
			t.Errorf("%s: %s probe on port %d, API_PORT is %d", owner, pr.name, port, cfg.HTTP.Port)
		}
		if p.InitialDelaySeconds != pr.delay || p.PeriodSeconds != pr.period || p.FailureThreshold != pr.thresh {
			t.Errorf("%s: %s probe %d/%d/%d, the seed says %d/%d/%d", owner, pr.name,
				p.InitialDelaySeconds, p.PeriodSeconds, p.FailureThreshold, pr.delay, pr.period, pr.thresh)
		}
	}
}

// checkWebProbes: a web app declares the port of its --port and probes
// its health route there.
func checkWebProbes(t *testing.T, owner string, c corev1.Container) {
	t.Helper()
	port := webPort(t, owner, c.Args)
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == port }) {
		t.Errorf("%s: the app listens on --port=%d but the container declares %v", owner, port, c.Ports)
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != webHealthPath || resolvePort(c, p.HTTPGet.Port) != port {
			t.Errorf("%s: %s probe %v, want GET %s on port %d", owner, name, p, webHealthPath, port)
		}
	}
}

// checkIngressBodySize: an nginx Ingress accepts request bodies larger than
// the biggest upload the API takes (UPLOAD_MAX_BYTES).
func checkIngressBodySize(t *testing.T, m *manifest, cfg config.Config) {
	t.Helper()
	for n, ing := range m.ingresses {
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
			continue
		}
		size := ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
		if size == "" {
			t.Errorf("Ingress %s: no proxy-body-size (ingress-nginx's default, 1m, is below UPLOAD_MAX_BYTES %d)", n, cfg.HTTP.UploadMaxBytes)
		} else if b := nginxSize(t, size); b <= cfg.HTTP.UploadMaxBytes {
			t.Errorf("Ingress %s: proxy-body-size %s is not above UPLOAD_MAX_BYTES %d", n, size, cfg.HTTP.UploadMaxBytes)
		}
	}
}

func checkPodBasics(t *testing.T, owner string, pod *corev1.PodTemplateSpec) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if names[c.Name] {
			t.Errorf("%s: two containers named %s", owner, c.Name)
		}
		names[c.Name] = true
		if c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: no memory limit", owner, c.Name)
		}
		for _, vm := range c.VolumeMounts {
			if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name }) {
				t.Errorf("%s/%s mounts undeclared volume %s", owner, c.Name, vm.Name)
			}
		}
		if strings.Contains(c.Image, "portiere") && (pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.RunAsNonRoot == nil || !*pod.Spec.SecurityContext.RunAsNonRoot) {
			t.Errorf("%s/%s: the Portiere image runs as non-root; say so (runAsNonRoot)", owner, c.Name)
		}
	}
}

func wantLimits(t *testing.T, who string, r corev1.ResourceRequirements, cpu, mem string) {
	t.Helper()
	if !r.Limits.Cpu().Equal(resource.MustParse(cpu)) || !r.Limits.Memory().Equal(resource.MustParse(mem)) {
		t.Errorf("%s: limits %v, want cpu %s memory %s", who, r.Limits, cpu, mem)
	}
}

func envOf(c corev1.Container) map[string]string {
	e := map[string]string{}
	for _, v := range c.Env {
		e[v.Name] = v.Value
	}
	return e
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func podHasPort(pod *corev1.PodTemplateSpec, p intstr.IntOrString) bool {
	for _, c := range pod.Spec.Containers {
		if resolvePort(c, p) > 0 {
			return true
		}
	}
	return false
}

func resolvePort(c corev1.Container, p intstr.IntOrString) int {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return int(cp.ContainerPort)
		}
	}
	return 0
}
