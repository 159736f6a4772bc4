{{/*
Names, labels and the pieces every Flowbot pod shares. Component names: bot, worker, redis.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "flowbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name every object name starts with: the release name, plus the chart name unless the
release name already holds it. Truncated to leave room for the longest suffix (-redis-headless). */}}
{{- define "flowbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flowbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. Call with (dict "ctx" $ "component" "bot"); component may be empty. */}}
{{- define "flowbot.labels" -}}
helm.sh/chart: {{ include "flowbot.chart" .ctx }}
{{ include "flowbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: flowbot
{{- end }}

{{/* Selector labels: stable for the life of a release. Call like flowbot.labels. */}}
{{- define "flowbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowbot.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "flowbot.bot.fullname" -}}{{ include "flowbot.fullname" . }}-bot{{- end }}
{{- define "flowbot.worker.fullname" -}}{{ include "flowbot.fullname" . }}-worker{{- end }}
{{- define "flowbot.redis.fullname" -}}{{ include "flowbot.fullname" . }}-redis{{- end }}

{{- define "flowbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flowbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Flowbot image: repository:tag, or repository@digest. */}}
{{- define "flowbot.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Secret holding the Slack tokens. */}}
{{- define "flowbot.slackSecretName" -}}
{{- if .Values.slack.create }}
{{- printf "%s-slack" (include "flowbot.fullname" .) }}
{{- else }}
{{- .Values.slack.existingSecret }}
{{- end }}
{{- end }}

{{/* "true" in OAuth mode (slack.oauth.clientId set: a bot token per installed workspace), else empty. */}}
{{- define "flowbot.oauth" -}}
{{- if .Values.slack.oauth.clientId }}true{{ end }}
{{- end }}

{{/* FLOWBOT_INSTALLATION_STORE in OAuth mode: slack.oauth.installationStore, else /data/slack on the local
engine's data volume (empty with Athena, which has no shared volume: validateValues refuses it). */}}
{{- define "flowbot.installationStore" -}}
{{- default (ternary "/data/slack" "" (eq .Values.engine "local")) .Values.slack.oauth.installationStore }}
{{- end }}

{{/* The paths of OAuth mode's install pages `flowbot serve` answers (config, else Flowbot's defaults). */}}
{{- define "flowbot.oauthPaths" -}}
{{- list (dig "FLOWBOT_SLACK_INSTALL_PATH" "/slack/install" .Values.config) (dig "FLOWBOT_SLACK_REDIRECT_PATH" "/slack/oauth_redirect" .Values.config) | toJson }}
{{- end }}

{{/* FLOWBOT_QUERY_TIMEOUT_SECONDS as the workers will read it (config, else Flowbot's default). */}}
{{- define "flowbot.queryTimeoutSeconds" -}}
{{- $timeout := dig "FLOWBOT_QUERY_TIMEOUT_SECONDS" "600" .Values.config | toString }}
{{- if not (regexMatch "^[0-9]+$" $timeout) }}
{{- fail (printf "config.FLOWBOT_QUERY_TIMEOUT_SECONDS must be a whole number of seconds, not %q" $timeout) }}
{{- end }}
{{- $timeout | atoi }}
{{- end }}

{{/* The workers' termination grace: longer than the longest query, so a stopping worker finishes it. */}}
{{- define "flowbot.worker.terminationGracePeriodSeconds" -}}
{{- $timeout := include "flowbot.queryTimeoutSeconds" . | atoi }}
{{- $grace := .Values.worker.terminationGracePeriodSeconds }}
{{- if kindIs "invalid" $grace }}
{{- add $timeout 60 }}
{{- else if le (int $grace) $timeout }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%d) must be longer than FLOWBOT_QUERY_TIMEOUT_SECONDS (%d): a stopping worker finishes the query in hand" (int $grace) $timeout) }}
{{- else }}
{{- int $grace }}
{{- end }}
{{- end }}

{{- define "flowbot.bot.replicas" -}}
{{- if kindIs "invalid" .Values.bot.replicas }}
{{- ternary 2 1 (eq .Values.bot.mode "http") }}
{{- else }}
{{- int .Values.bot.replicas }}
{{- end }}
{{- end }}

{{/* The Redis URL the chart puts in the ConfigMap; empty when it comes from a Secret. */}}
{{- define "flowbot.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s:6379/0" (include "flowbot.redis.fullname" .) }}
{{- else if not .Values.redis.external.existingSecret }}
{{- .Values.redis.external.url }}
{{- end }}
{{- end }}

{{/* The pod security context of every Flowbot pod. */}}
{{- define "flowbot.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The security context of every container, Redis's included. */}}
{{- define "flowbot.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end }}

{{/* Annotations rolling the pods when the settings or a Secret the chart made change. */}}
{{- define "flowbot.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/slack-secret.yaml") . | sha256sum }}
{{- end }}

{{/*
The environment of a Flowbot container: HOME, the Redis URL when it is a secret, and the Slack keys
this component needs. Call with (dict "ctx" $ "component" "bot"|"worker").
OAuth mode: the Client Secret instead of the bot token, in the workers too (they find each workspace's
token in the installation store, and Flowbot checks OAuth mode's settings are complete before it opens it).
*/}}
{{- define "flowbot.env" -}}
{{- $ctx := .ctx }}
{{- $secret := include "flowbot.slackSecretName" $ctx }}
- name: HOME
  value: /tmp
{{- if and (not $ctx.Values.redis.enabled) $ctx.Values.redis.external.existingSecret }}
- name: FLOWBOT_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $ctx.Values.redis.external.existingSecret }}
      key: {{ $ctx.Values.redis.external.existingSecretKey }}
{{- end }}
{{- if include "flowbot.oauth" $ctx }}
- name: FLOWBOT_SLACK_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $ctx.Values.slack.keys.clientSecret }}
{{- else }}
- name: FLOWBOT_SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $ctx.Values.slack.keys.botToken }}
{{- end }}
{{- if and (eq .component "bot") (eq $ctx.Values.bot.mode "http") }}
- name: FLOWBOT_SLACK_SIGNING_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $ctx.Values.slack.keys.signingSecret }}
{{- end }}
{{- if and (eq .component "bot") (eq $ctx.Values.bot.mode "socket") }}
- name: FLOWBOT_SLACK_APP_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $ctx.Values.slack.keys.appToken }}
{{- end }}
{{- end }}

{{/* The settings every Flowbot container reads. */}}
{{- define "flowbot.envFrom" -}}
- configMapRef:
    name: {{ include "flowbot.fullname" . }}
{{- end }}

{{/* Mounts of every Flowbot container: /tmp, and /data (local engine) or the undelivered folder. */}}
{{- define "flowbot.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if eq .Values.engine "local" }}
- name: data
  mountPath: /data
{{- else }}
- name: undelivered
  mountPath: /var/lib/flowbot/undelivered
{{- end }}
{{- end }}

{{- define "flowbot.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if eq .Values.engine "local" }}
- name: data
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-data" (include "flowbot.fullname" .)) .Values.localData.persistence.existingClaim }}
{{- else }}
- name: undelivered
  emptyDir: {}
{{- end }}
{{- end }}

{{/* The init container writing sample flow logs on an empty data volume (local engine). A pod that
loses the race to write them to another pod finds them written. */}}
{{- define "flowbot.sampleDataInitContainer" -}}
{{- if and (eq .Values.engine "local") .Values.localData.sampleData }}
- name: sample-data
  image: {{ include "flowbot.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - /bin/sh
    - -c
    - test -d /data/flowlogs/AWSLogs || flowbot sample-data /data/flowlogs || test -d /data/flowlogs/AWSLogs
  env:
    - name: HOME
      value: /tmp
  securityContext:
    {{- include "flowbot.containerSecurityContext" . | nindent 4 }}
  resources:
    requests:
      cpu: 100m
      memory: 128Mi
    limits:
      memory: 512Mi
  volumeMounts:
    {{- include "flowbot.volumeMounts" . | nindent 4 }}
{{- end }}
{{- end }}

{{/* Settings that must hold together; rendered once by validate.yaml, failing with the reason. */}}
{{- define "flowbot.validateValues" -}}
{{- $v := .Values }}
{{- if and (eq $v.bot.mode "socket") $v.ingress.enabled }}
{{- fail "ingress.enabled is true but bot.mode is socket: Socket Mode takes no requests (no Service, no Ingress); set ingress.enabled=false or bot.mode=http" }}
{{- end }}
{{- range $key, $_ := $v.config }}
{{- if has $key (list "FLOWBOT_SLACK_BOT_TOKEN" "FLOWBOT_SLACK_SIGNING_SECRET" "FLOWBOT_SLACK_APP_TOKEN" "FLOWBOT_SLACK_CLIENT_SECRET") }}
{{- fail (printf "config.%s is a Slack secret: it must not be in the ConfigMap; put it in the Secret (slack.existingSecret, or slack.create with slack.botToken/signingSecret/appToken/clientSecret)" $key) }}
{{- end }}
{{- if has $key (list "FLOWBOT_SLACK_CLIENT_ID" "FLOWBOT_INSTALLATION_STORE") }}
{{- fail (printf "config.%s is set by the chart: use slack.oauth.clientId and slack.oauth.installationStore (OAuth mode also mounts the Client Secret)" $key) }}
{{- end }}
{{- end }}
{{- if include "flowbot.oauth" . }}
{{- $teams := splitList "," (dig "FLOWBOT_ALLOWED_TEAMS" "" $v.config | toString) }}
{{- $listed := list }}
{{- range $teams }}
{{- with trim . }}
{{- if not (regexMatch "^[TE][A-Z0-9]{2,}$" .) }}
{{- fail (printf "config.FLOWBOT_ALLOWED_TEAMS: %q is not a Slack workspace (T…) or Enterprise Grid org (E…) ID" .) }}
{{- end }}
{{- $listed = append $listed . }}
{{- end }}
{{- end }}
{{- if not $listed }}
{{- fail "slack.oauth.clientId is set (OAuth mode) but config.FLOWBOT_ALLOWED_TEAMS is empty: any workspace that reaches the install page could install Flowbot and be answered from your flow logs; set it to the workspace (T…) or Enterprise Grid org (E…) IDs Flowbot answers, comma-separated" }}
{{- end }}
{{- $installations := include "flowbot.installationStore" . }}
{{- if not (hasPrefix "s3://" $installations) }}
{{- if eq $v.engine "athena" }}
{{- fail (printf "engine athena in OAuth mode needs slack.oauth.installationStore on S3 (s3://bucket/prefix), not %q: the app and every worker read the installations, and Athena's pods share no volume" $installations) }}
{{- end }}
{{- if not (hasPrefix "/data/" $installations) }}
{{- fail (printf "slack.oauth.installationStore %q is a folder outside the data volume: use s3://bucket/prefix or a folder under /data/ (the app and every worker must see the same installations)" $installations) }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $v.engine "athena" }}
{{- $store := dig "FLOWBOT_IOC_STORE" "" $v.config | toString }}
{{- if not (hasPrefix "s3://" $store) }}
{{- fail (printf "engine athena needs config.FLOWBOT_IOC_STORE on S3 (s3://bucket/prefix), not %q: every pod must see the same indicators" $store) }}
{{- end }}
{{- if not (dig "FLOWBOT_FLOW_LOGS_BUCKET" "" $v.config) }}
{{- fail "engine athena needs config.FLOWBOT_FLOW_LOGS_BUCKET (the S3 bucket the flow logs are delivered to)" }}
{{- end }}
{{- end }}
{{- if not $v.redis.enabled }}
{{- if not (or $v.redis.external.url $v.redis.external.existingSecret) }}
{{- fail "redis.enabled is false: set redis.external.url (no credentials in it) or redis.external.existingSecret (a Secret holding the URL)" }}
{{- end }}
{{- if and $v.redis.external.url (not $v.redis.external.existingSecret) (regexMatch "^[a-z]+://[^/]*@" $v.redis.external.url) }}
{{- fail "redis.external.url holds credentials: put the URL in a Secret and set redis.external.existingSecret instead" }}
{{- end }}
{{- end }}
{{- if $v.slack.create }}
{{- $mode := printf "bot.mode %s" $v.bot.mode }}
{{- $needed := dict (ternary "signingSecret" "appToken" (eq $v.bot.mode "http")) $mode }}
{{- if include "flowbot.oauth" . }}
{{- $_ := set $needed "clientSecret" "OAuth mode" }}
{{- else }}
{{- $_ := set $needed "botToken" $mode }}
{{- end }}
{{- range $key, $why := $needed }}
{{- if not (get $v.slack $key) }}
{{- fail (printf "slack.create is true but slack.%s is empty (%s needs it)" $key $why) }}
{{- end }}
{{- end }}
{{- else if not $v.slack.existingSecret }}
{{- fail "set slack.existingSecret (a Secret holding the Slack tokens) or slack.create=true with the tokens" }}
{{- end }}
{{- $_ := include "flowbot.worker.terminationGracePeriodSeconds" . }}
{{- end }}

{{/* Egress of the app and the workers: DNS, Redis, HTTPS (Slack, AWS) but not the instance metadata
address (IRSA's credentials come from STS, not IMDS), and networkPolicy.extraEgress. */}}
{{- define "flowbot.networkPolicy.egress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
  {{- with .Values.networkPolicy.dnsTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if .Values.redis.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "flowbot.selectorLabels" (dict "ctx" . "component" "redis") | nindent 10 }}
  ports:
    - port: 6379
      protocol: TCP
{{- else }}
- to:
    - ipBlock:
        cidr: {{ .Values.networkPolicy.redisEgressCIDR }}
  ports:
    - port: {{ .Values.redis.external.port }}
      protocol: TCP
{{- end }}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          - 169.254.169.254/32
  ports:
    - port: 443
      protocol: TCP
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}
