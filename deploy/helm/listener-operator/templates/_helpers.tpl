{{/*
Names and labels, as in upstream's chart, so that the objects keep their names and selectors.
*/}}

{{/* The app name: the chart name or nameOverride. */}}
{{- define "listener-operator.appname" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every namespaced object and of the cluster-scoped RBAC objects: fullnameOverride, else
the release name when it contains the chart name, else "<release>-<chart>"; at most 63 characters.
*/}}
{{- define "listener-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "listener-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "listener-operator.labels" -}}
helm.sh/chart: {{ include "listener-operator.chart" . }}
{{ include "listener-operator.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels (upstream's: they include .Values.labels, so keep those stable across upgrades). */}}
{{- define "listener-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "listener-operator.appname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount both workloads run as. */}}
{{- define "listener-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-serviceaccount" (include "listener-operator.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: the chart then does not create the ServiceAccount the operator runs as" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* OpenShift: the SecurityContextConstraints of the node Pod and of the controller Pod (also the RBAC `use` rule's resourceNames). */}}
{{- define "listener-operator.nodeScc" -}}
{{ include "listener-operator.fullname" . }}-csi-node-driver
{{- end }}
{{- define "listener-operator.controllerScc" -}}
{{ include "listener-operator.fullname" . }}-csi-provisioner
{{- end }}

{{/* The operator image (both workloads). */}}
{{- define "listener-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The CSI driver name: also the CSIDriver, StorageClass and provisioner name, and the plugin directory. */}}
{{- define "listener-operator.driverName" -}}
listeners.stackable.tech
{{- end }}

{{/* kubeletDir without a trailing slash, so every path below it has exactly one separator. */}}
{{- define "listener-operator.kubeletDir" -}}
{{- required "kubeletDir must be set (the kubelet's root directory, /var/lib/kubelet on most distributions)" .Values.kubeletDir | trimSuffix "/" }}
{{- end }}

{{/* The HTTP port of /healthz, /readyz and /metrics in both workloads. */}}
{{- define "listener-operator.httpPort" -}}
8080
{{- end }}

{{/* Environment shared by both services: upstream's variables, name for name (docs/compatibility.md). */}}
{{- define "listener-operator.commonEnv" -}}
- name: CSI_ENDPOINT
  value: /csi/csi.sock
# Health probes and metrics; ":port" listens on every address, IPv4 and IPv6.
- name: HTTP_ADDRESS
  value: ":{{ include "listener-operator.httpPort" . }}"
# The operator's own image, as the Pod annotation names it (Tilt rewrites annotations, not env).
- name: OPERATOR_IMAGE
  valueFrom:
    fieldRef:
      fieldPath: metadata.annotations['internal.stackable.tech/image']
- name: OPERATOR_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
# The Service of the conversion webhook (the CRDs point at it).
- name: OPERATOR_SERVICE_NAME
  value: {{ include "listener-operator.fullname" . }}
- name: IMAGE_REPOSITORY
  value: {{ .Values.image.repository | quote }}
# The Node the Pod runs on; the controller reads the cluster domain from its kubelet when
# kubernetesClusterDomain is unset.
- name: KUBERNETES_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- if .Values.kubernetesClusterDomain }}
- name: KUBERNETES_CLUSTER_DOMAIN
  value: {{ .Values.kubernetesClusterDomain | quote }}
{{- end }}
{{- include "listener-operator.telemetryEnv" . }}
{{- include "listener-operator.maintenanceEnv" . }}
{{- end }}

{{/* telemetry.* → the variables upstream's chart sets for them (and only when they differ from the defaults). */}}
{{- define "listener-operator.telemetryEnv" -}}
{{- with .Values.telemetry }}
{{- if not .consoleLog.enabled }}
- name: CONSOLE_LOG_DISABLED
  value: "true"
{{- end }}
{{- if and .consoleLog.enabled .consoleLog.level }}
- name: CONSOLE_LOG_LEVEL
  value: {{ .consoleLog.level | quote }}
{{- end }}
{{- if and .consoleLog.enabled .consoleLog.format }}
- name: CONSOLE_LOG_FORMAT
  value: {{ .consoleLog.format | quote }}
{{- end }}
{{- if .fileLog.enabled }}
- name: FILE_LOG_DIRECTORY
  value: /stackable/logs/{{ include "listener-operator.appname" $ }}
{{- if .fileLog.level }}
- name: FILE_LOG_LEVEL
  value: {{ .fileLog.level | quote }}
{{- end }}
{{- if .fileLog.rotationPeriod }}
- name: FILE_LOG_ROTATION_PERIOD
  value: {{ .fileLog.rotationPeriod | quote }}
{{- end }}
{{- if .fileLog.maxFiles }}
- name: FILE_LOG_MAX_FILES
  value: {{ .fileLog.maxFiles | quote }}
{{- end }}
{{- end }}
{{- if .otelLogExporter.enabled }}
- name: OTEL_LOG_EXPORTER_ENABLED
  value: "true"
{{- if .otelLogExporter.level }}
- name: OTEL_LOG_EXPORTER_LEVEL
  value: {{ .otelLogExporter.level | quote }}
{{- end }}
{{- if .otelLogExporter.endpoint }}
- name: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
  value: {{ .otelLogExporter.endpoint | quote }}
{{- end }}
{{- end }}
{{- if .otelTraceExporter.enabled }}
- name: OTEL_TRACE_EXPORTER_ENABLED
  value: "true"
{{- if .otelTraceExporter.level }}
- name: OTEL_TRACE_EXPORTER_LEVEL
  value: {{ .otelTraceExporter.level | quote }}
{{- end }}
{{- if .otelTraceExporter.endpoint }}
- name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  value: {{ .otelTraceExporter.endpoint | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* maintenance.* → the variables upstream's chart sets for them. */}}
{{- define "listener-operator.maintenanceEnv" -}}
{{- with .Values.maintenance }}
{{- if not .endOfSupportCheck.enabled }}
- name: EOS_DISABLED
  value: "true"
{{- end }}
{{- if and .endOfSupportCheck.enabled .endOfSupportCheck.mode }}
- name: EOS_CHECK_MODE
  value: {{ .endOfSupportCheck.mode | quote }}
{{- end }}
{{- if and .endOfSupportCheck.enabled .endOfSupportCheck.interval }}
- name: EOS_INTERVAL
  value: {{ .endOfSupportCheck.interval | quote }}
{{- end }}
{{- if not .customResourceDefinitions.maintain }}
- name: DISABLE_CRD_MAINTENANCE
  value: "true"
{{- end }}
{{- end }}
{{- end }}

{{/* The conversion webhook's port (upstream's): the Service's, the container's and WEBHOOK_ADDRESS's. */}}
{{- define "listener-operator.webhookPort" -}}
8443
{{- end }}

{{/* The port of /healthz, /readyz and /metrics, as a container port. */}}
{{- define "listener-operator.httpContainerPort" -}}
- name: http
  containerPort: {{ include "listener-operator.httpPort" . }}
  protocol: TCP
{{- end }}

{{/* Liveness and readiness probes (on the http port). */}}
{{- define "listener-operator.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/*
With telemetry.fileLog.enabled: a writable directory for the rolling log files, mounted where
FILE_LOG_DIRECTORY points (the containers' root filesystem is read-only). An emptyDir: the files
live as long as the Pod, as upstream's; a log collector (Vector, Fluent Bit) reads them from there.
*/}}
{{- define "listener-operator.logVolumeMount" -}}
{{- if .Values.telemetry.fileLog.enabled }}
- name: log
  mountPath: /stackable/logs/{{ include "listener-operator.appname" . }}
{{- end }}
{{- end }}

{{- define "listener-operator.logVolume" -}}
{{- if .Values.telemetry.fileLog.enabled }}
- name: log
  {{- with .Values.telemetry.fileLog.volumeSizeLimit }}
  emptyDir:
    sizeLimit: {{ . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}

{{/* The metrics Service's labels (the ServiceMonitor selects it by them). */}}
{{- define "listener-operator.metricsLabels" -}}
app.kubernetes.io/name: {{ include "listener-operator.appname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: metrics
{{- end }}

{{/*
`helm test` hooks (templates/tests): Pods only, since `helm test --logs` reads the logs of every
test hook as a Pod's, after the run; so they stay after the run (for --logs) and are replaced by
the next one.
*/}}
{{- define "listener-operator.testHook" -}}
helm.sh/hook: test
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}

{{/*
The `helm test` Pods' labels: not the selector labels, so that no selector of the chart's (the
workloads', the Service's) ever picks them up.
*/}}
{{- define "listener-operator.testPodLabels" -}}
helm.sh/chart: {{ include "listener-operator.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The `helm test` Pods: placed as the node service's Pods (they need the driver on their Node), as
the operator's ServiceAccount, as the image's unprivileged user (the "restricted" Pod Security
Standard).
*/}}
{{- define "listener-operator.testPodSpec" -}}
restartPolicy: Never
serviceAccountName: {{ include "listener-operator.serviceAccountName" . }}
securityContext:
  runAsNonRoot: true
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.csiNodeDriver.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.csiNodeDriver.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.csiNodeDriver.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- define "listener-operator.testContainer" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop:
      - ALL
resources:
  requests:
    cpu: 50m
    memory: 64Mi
  limits:
    cpu: 200m
    memory: 128Mi
{{- end }}
