{{/* Names, labels and the pieces every Portiere pod shares. */}}

{{- define "portiere.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "portiere.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* selector labels: call with (dict "root" $ "component" "api") */}}
{{- define "portiere.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "portiere.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "portiere.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "portiere.fullname" .)) -}}
{{- end -}}

{{- define "portiere.faissClaim" -}}
{{- .Values.faiss.existingClaim | default (printf "%s-faiss" (include "portiere.fullname" .)) -}}
{{- end -}}

{{- define "portiere.modelsClaim" -}}
{{- .Values.models.existingClaim | default (printf "%s-models" (include "portiere.fullname" .)) -}}
{{- end -}}

{{- define "portiere.faissDir" -}}
{{- dir .Values.initJob.faissIndexPath -}}
{{- end -}}

{{- define "portiere.temporalAddress" -}}
{{- if .Values.temporal.enabled -}}
{{ include "portiere.fullname" . }}-temporal:7233
{{- else -}}
{{ required "temporal.address is required when temporal.enabled is false" .Values.temporal.address }}
{{- end -}}
{{- end -}}

{{- define "portiere.dbHost" -}}
{{- if .Values.postgres.enabled -}}
{{ include "portiere.fullname" . }}-postgres
{{- else -}}
{{ required "externalDatabase.host is required when postgres.enabled is false" .Values.externalDatabase.host }}
{{- end -}}
{{- end -}}

{{/* Environment of every Portiere container: the ConfigMap and the secret keys. */}}
{{- define "portiere.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "portiere.fullname" . }}-config
env:
  - name: DB_PASSWORD
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: DB_PASSWORD}}
  - name: JWT_SECRET
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: JWT_SECRET}}
  - name: API_KEY_SALT
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: API_KEY_SALT}}
  - name: ADMIN_TOKEN
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: ADMIN_TOKEN}}
  {{- if .Values.redis.enabled }}
  - name: REDIS_PASSWORD
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: REDIS_PASSWORD}}
  {{- end }}
{{- end -}}

{{/* Stripe's keys, for the processes that bill: the API (checkout, portal,
     webhook) and the workers (usage reports). */}}
{{- define "portiere.stripeEnv" -}}
{{- if .Values.stripe.enabled }}
- name: STRIPE_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: STRIPE_SECRET_KEY}}
- name: STRIPE_WEBHOOK_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: STRIPE_WEBHOOK_SECRET}}
{{- end }}
{{- end -}}

{{/* Environment of the web apps: the ConfigMap, the database password and
     the API-key salt (the dashboard issues keys); none of the other secrets. */}}
{{- define "portiere.webEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "portiere.fullname" . }}-config
env:
  - name: DB_PASSWORD
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: DB_PASSWORD}}
  - name: API_KEY_SALT
    valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: API_KEY_SALT}}
{{- end -}}

{{/* The mapper app's secrets beside portiere.webEnv: its KYC keys and, for
     payout accounts (Stripe Connect), Stripe's keys (the binary refuses the
     key without the webhook secret). */}}
{{- define "portiere.mapperEnv" -}}
- name: MAPPER_KYC_KEYS
  valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: MAPPER_KYC_KEYS}}
{{- include "portiere.stripeEnv" . }}
{{- end -}}

{{/* The workers' LINE Messaging API token (payout messages): optional, so a
     Secret without it starts the workers without messages. */}}
{{- define "portiere.lineTokenEnv" -}}
{{- if .Values.mapper.enabled }}
- name: LINE_CHANNEL_ACCESS_TOKEN
  valueFrom: {secretKeyRef: {name: {{ include "portiere.secretName" . }}, key: LINE_CHANNEL_ACCESS_TOKEN, optional: true}}
{{- end }}
{{- end -}}

{{/* NEXT_PUBLIC_API_URL: config.publicAPIURL, else https://<host> of the
     first Ingress host routing to the api, else empty (the binary's default). */}}
{{- define "portiere.publicAPIURL" -}}
{{- if .Values.config.publicAPIURL -}}
{{ .Values.config.publicAPIURL }}
{{- else if .Values.ingress.enabled -}}
{{- $url := "" -}}
{{- range .Values.ingress.hosts -}}
{{- $host := .host -}}
{{- range .paths -}}
{{- if and (eq .service "api") (not $url) -}}
{{- $url = printf "https://%s" $host -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{ $url }}
{{- end -}}
{{- end -}}

{{/* Runs `portiere migrate` before the main container; the migration lock lets
     every replica do this safely: one applies, the others find nothing to do. */}}
{{- define "portiere.migrateInit" -}}
- name: migrate
  image: {{ include "portiere.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["migrate"]
  {{- include "portiere.env" . | nindent 2 }}
  securityContext:
    {{- include "portiere.containerSecurity" . | nindent 4 }}
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {cpu: 500m, memory: 256Mi}
{{- end -}}

{{- define "portiere.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: ["ALL"]}
{{- end -}}

{{- define "portiere.faissVolume" -}}
- name: faiss
  persistentVolumeClaim:
    claimName: {{ include "portiere.faissClaim" . }}
{{- if .Values.models.enabled }}
- name: models
  persistentVolumeClaim:
    claimName: {{ include "portiere.modelsClaim" . }}
    readOnly: true
{{- end }}
{{- end -}}

{{/* mounts: call with (dict "root" $ "readOnly" true) */}}
{{- define "portiere.faissMounts" -}}
- name: faiss
  mountPath: {{ include "portiere.faissDir" .root }}
  readOnly: {{ .readOnly }}
{{- if .root.Values.models.enabled }}
- name: models
  mountPath: {{ .root.Values.models.path }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* CORS_ORIGINS: config.corsOrigins, else https://<host> of every Ingress host
     that serves the cloud or mapper app, else the development origins. */}}
{{- define "portiere.corsOrigins" -}}
{{- if .Values.config.corsOrigins -}}
{{ .Values.config.corsOrigins }}
{{- else -}}
{{- $origins := list -}}
{{- range .Values.ingress.hosts -}}
{{- $host := .host -}}
{{- range .paths -}}
{{- if ne .service "api" -}}
{{- $origins = append $origins (printf "https://%s" $host) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $origins -}}
{{ $origins | uniq | join "," }}
{{- else -}}
http://localhost:3000,http://localhost:3001
{{- end -}}
{{- end -}}
{{- end -}}
