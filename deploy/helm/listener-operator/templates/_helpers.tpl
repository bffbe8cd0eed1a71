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

{{/* Environment shared by both services. */}}
{{- define "listener-operator.commonEnv" -}}
- name: CSI_ENDPOINT
  value: /csi/csi.sock
# Health probes and metrics; ":port" listens on every address, IPv4 and IPv6.
- name: HTTP_ADDRESS
  value: ":{{ include "listener-operator.httpPort" . }}"
- name: OPERATOR_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OPERATOR_SERVICE_NAME
  value: {{ include "listener-operator.fullname" . }}
{{- if .Values.kubernetesClusterDomain }}
- name: KUBERNETES_CLUSTER_DOMAIN
  value: {{ .Values.kubernetesClusterDomain | quote }}
{{- end }}
{{- end }}

{{/* Liveness and readiness probes and the port they use. */}}
{{- define "listener-operator.probes" -}}
ports:
  - name: http
    containerPort: {{ include "listener-operator.httpPort" . }}
    protocol: TCP
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
