{{/* Names, labels and the environment every service reads, defined once. */}}

{{- define "cluetrail.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one service's objects: (dict "root" $ "service" "intake") */}}
{{- define "cluetrail.serviceName" -}}
{{- printf "%s-%s" (include "cluetrail.fullname" .root) .service -}}
{{- end -}}

{{- define "cluetrail.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cluetrail
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of one service: (dict "root" $ "service" "intake") */}}
{{- define "cluetrail.serviceLabels" -}}
{{ include "cluetrail.labels" .root }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "cluetrail.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "cluetrail.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cluetrail.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cluetrail.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The services with a stable name per replica (static members of their consumer groups). */}}
{{- define "cluetrail.statefulServices" -}}
triage reporting notify
{{- end -}}

{{/* The other regions of the regions file, comma-separated; checks the region is one of them. */}}
{{- define "cluetrail.peers" -}}
{{- $peers := list -}}
{{- if .Values.region.regionsFile -}}
{{- $file := fromJson .Values.region.regionsFile -}}
{{- if or (hasKey $file "Error") (not (hasKey $file "regions")) -}}
{{- fail "region.regionsFile is not a regions file: JSON with \"regions\" (deploy/regions/*.json)" -}}
{{- end -}}
{{- $aliases := list -}}
{{- range $file.regions -}}
{{- $aliases = append $aliases .alias -}}
{{- if ne .alias $.Values.region.alias -}}{{- $peers = append $peers .alias -}}{{- end -}}
{{- end -}}
{{- if not (has .Values.region.alias $aliases) -}}
{{- fail (printf "region.alias %q is not one of the regions file's: %s" .Values.region.alias (join ", " $aliases)) -}}
{{- end -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* Refusals of a values file that could never start, each naming what to set. */}}
{{- define "cluetrail.checks" -}}
{{- if not (has .Values.environment (list "test" "production")) -}}
{{- fail (printf "environment must be test or production, not %q (local allows development secrets)" .Values.environment) -}}
{{- end -}}
{{- if not .Values.reporterKeyId -}}
{{- fail "reporterKeyId: name the key of the reporter keys Secret that seals new identities" -}}
{{- end -}}
{{- if not .Values.notify.publicUrl -}}
{{- fail "notify.publicUrl: the URL recipients reach notify at (acknowledgement links)" -}}
{{- end -}}
{{- if and (eq .Values.telemetry.exporter "otlp") (not .Values.telemetry.otlpEndpoint) -}}
{{- fail "telemetry.otlpEndpoint: the OTLP collector (HTTP) the otlp exporter sends to" -}}
{{- end -}}
{{- if and .Values.region.alias (not .Values.region.regionsFile) -}}
{{- fail "region.regionsFile: a region's alias means nothing without the regions file" -}}
{{- end -}}
{{- $peers := include "cluetrail.peers" . -}}
{{- if $peers -}}
{{- if not .Values.secrets.regionPrivateKey.name -}}
{{- fail (printf "secrets.regionPrivateKey: region %s has peers (%s); triage needs its private key" .Values.region.alias $peers) -}}
{{- end -}}
{{- range (splitList "," $peers) -}}
{{- if not (hasKey $.Values.region.publicKeys .) -}}
{{- fail (printf "region.publicKeys.%s: the public key of region %s (public-keys.json of `cluetrail region keys`)" . .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.autoscaling.enabled -}}
{{- if gt (int $svc.autoscaling.minReplicas) (int $.Values.partitions) -}}
{{- fail (printf "services.%s.autoscaling.minReplicas %d is more than the %d partitions a consumer group shares" $name (int $svc.autoscaling.minReplicas) (int $.Values.partitions)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* OTEL_RESOURCE_ATTRIBUTES: where a span comes from, beside the service.name each service sets. */}}
{{- define "cluetrail.resourceAttributes" -}}
{{- $attributes := dict "service.namespace" "cluetrail" "deployment.environment.name" .Values.environment -}}
{{- if .Values.region.alias -}}{{- $_ := set $attributes "cluetrail.region" .Values.region.alias -}}{{- end -}}
{{- $attributes = merge (deepCopy .Values.telemetry.resourceAttributes) $attributes -}}
{{- $pairs := list -}}
{{- range $key, $value := $attributes -}}{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The settings every service and `cluetrail stack init` share (the ConfigMap and the migration Job). */}}
{{- define "cluetrail.commonEnv" -}}
CLUETRAIL_ENVIRONMENT: {{ .Values.environment | quote }}
CLUETRAIL_KAFKA_BOOTSTRAP: {{ .Values.kafka.bootstrap | quote }}
CLUETRAIL_KAFKA_REPLICATION_FACTOR: {{ .Values.kafka.replicationFactor | quote }}
CLUETRAIL_TOPIC_PREFIX: {{ .Values.topicPrefix | quote }}
CLUETRAIL_CASE_PARTITIONS: {{ .Values.partitions | quote }}
CLUETRAIL_DATABASE_PREFIX: {{ .Values.databasePrefix | quote }}
CLUETRAIL_REPORTER_KEY_ID: {{ .Values.reporterKeyId | quote }}
CLUETRAIL_OTEL_EXPORTER: {{ .Values.telemetry.exporter | quote }}
{{- if .Values.telemetry.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.telemetry.otlpEndpoint | quote }}
{{- end }}
OTEL_RESOURCE_ATTRIBUTES: {{ include "cluetrail.resourceAttributes" . | quote }}
{{- if .Values.region.alias }}
CLUETRAIL_REGION: {{ .Values.region.alias | quote }}
CLUETRAIL_REGIONS_FILE: /etc/cluetrail/regions/regions.json
{{- end }}
{{- end -}}

{{/* Secrets every process needs, and the database URL built from the role's Secret. */}}
{{- define "cluetrail.secretEnv" -}}
- name: CLUETRAIL_REPORTER_KEYS
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.reporterKeys.name }}, key: {{ .Values.secrets.reporterKeys.key }}}
- name: CLUETRAIL_AUTH_SECRET
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.authSecret.name }}, key: {{ .Values.secrets.authSecret.key }}}
- name: DATABASE_USER
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.database.name }}, key: username}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.database.name }}, key: password}
# Kubernetes expands $(VAR) of the variables above; the path names the server's maintenance database, each
# service replaces it with its own (settings.database_for).
- name: CLUETRAIL_DATABASE_URL
  value: {{ printf "postgresql://$(DATABASE_USER):$(DATABASE_PASSWORD)@%s:%d/postgres" .Values.database.host (int .Values.database.port) | quote }}
{{- end -}}

{{/*
Kafka over TLS with a KafkaUser's certificate: the settings (kafkaTlsEnv), the files' mount (kafkaTlsMount) and
the volume of the cluster CA and the user's Secret (kafkaTlsVolume). Called with dict "root" $ "user" <Secret>.
*/}}
{{- define "cluetrail.kafkaTlsEnv" -}}
- {name: CLUETRAIL_KAFKA_SSL_CAFILE, value: /etc/cluetrail/kafka/ca.crt}
- {name: CLUETRAIL_KAFKA_SSL_CERTFILE, value: /etc/cluetrail/kafka/user.crt}
- {name: CLUETRAIL_KAFKA_SSL_KEYFILE, value: /etc/cluetrail/kafka/user.key}
{{- end -}}

{{- define "cluetrail.kafkaTlsMount" -}}
- {name: kafka-tls, mountPath: /etc/cluetrail/kafka, readOnly: true}
{{- end -}}

{{- define "cluetrail.kafkaTlsVolume" -}}
{{- $tls := .root.Values.kafka.tls -}}
- name: kafka-tls
  projected:
    sources:
      - secret:
          name: {{ $tls.clusterCa.name }}
          items: [{key: {{ $tls.clusterCa.key }}, path: ca.crt}]
      - secret:
          name: {{ .user }}
          items: [{key: user.crt, path: user.crt}, {key: user.key, path: user.key}]
{{- end -}}
