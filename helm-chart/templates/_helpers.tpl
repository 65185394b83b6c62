{{/*
Chart name, truncated to 63 characters (the limit of a label value).
*/}}
{{- define "capstan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of namespaced resources: <release>-<chart>, or the release name alone when it already
contains the chart name (so `helm install capstan` gives `capstan`, not `capstan-capstan`).
*/}}
{{- define "capstan.fullname" -}}
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

{{/*
Name of cluster-scoped resources (ClusterRole, ClusterRoleBinding): the full name plus the release
namespace, because releases of the same name in two namespaces would otherwise fight over them.
*/}}
{{- define "capstan.clusterName" -}}
{{- printf "%s-%s" (include "capstan.fullname" .) .Release.Namespace }}
{{- end }}

{{/*
Chart label value: name-version.
*/}}
{{- define "capstan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "capstan.labels" -}}
helm.sh/chart: {{ include "capstan.chart" . }}
{{ include "capstan.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | toString | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: capstan
{{- end }}

{{/*
Selector labels: stable over upgrades (a Deployment's selector is immutable).
*/}}
{{- define "capstan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "capstan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount capstan runs as.
*/}}
{{- define "capstan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "capstan.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Where capstan reads AppProjects and repository Secrets: controllerNamespace or the release's.
*/}}
{{- define "capstan.controllerNamespace" -}}
{{- default .Release.Namespace .Values.controllerNamespace }}
{{- end }}

{{/*
The container image: repository@digest when image.digest is set (the tag is then ignored, so that
the pod runs exactly that build), else repository:tag.
*/}}
{{- define "capstan.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
"true" when this Deployment runs only the External Secrets operators (controllers holds nothing but
externalsecret, clusterexternalsecret and pushsecret): the ClusterRole then holds rbac.externalSecretRules
instead of rbac.rules.
*/}}
{{- define "capstan.externalSecretsOnly" -}}
{{- if not (without .Values.controllers "externalsecret" "clusterexternalsecret" "pushsecret") }}true{{ end }}
{{- end }}

{{/*
The namespaces of --watch-namespaces, comma-separated: watchNamespaces, or (rbac.clusterWide=false
with an empty list) the controller namespace alone; empty means cluster-wide.
*/}}
{{- define "capstan.watchNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- join "," (uniq .Values.watchNamespaces) }}
{{- else if not .Values.rbac.clusterWide }}
{{- include "capstan.controllerNamespace" . }}
{{- end }}
{{- end }}

{{/*
Where a tenant install (rbac.clusterWide=false) gets its Role and RoleBinding, comma-separated: the
release namespace, the controller namespace and every watched namespace, each once.
*/}}
{{- define "capstan.roleNamespaces" -}}
{{- $all := list .Release.Namespace (include "capstan.controllerNamespace" .) }}
{{- $all = concat $all (splitList "," (include "capstan.watchNamespaces" .)) }}
{{- join "," (compact (uniq $all)) }}
{{- end }}

{{/*
The rules capstan is granted (ClusterRole or, in a tenant install, the Role of each namespace):
rbac.externalSecretRules when only the ExternalSecret operators run, else rbac.rules; plus
impersonate on serviceaccounts with impersonation.enabled.
*/}}
{{- define "capstan.rules" -}}
{{- if include "capstan.externalSecretsOnly" . }}
{{- required "rbac.externalSecretRules must not be empty when rbac.create is true" .Values.rbac.externalSecretRules | toYaml }}
{{- if and .Values.genericTargets.enabled .Values.genericTargets.resources }}
{{ toYaml .Values.genericTargets.resources }}
{{- end }}
{{- else }}
{{- required "rbac.rules must not be empty when rbac.create is true" .Values.rbac.rules | toYaml }}
{{- end }}
{{- if .Values.impersonation.enabled }}
# Sync with impersonation: capstan sends each app's writes as its project's service account.
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [impersonate]
{{- end }}
{{- end }}
