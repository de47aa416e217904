{{/* Chart name, overridable. */}}
{{- define "certroute.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-certroute, or the release name when it already contains the chart name. */}}
{{- define "certroute.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "certroute.selectorLabels" -}}
app.kubernetes.io/name: {{ include "certroute.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "certroute.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "certroute.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "certroute.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "certroute.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "certroute.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* A list flag's value: a YAML list joined with commas, or a string as given. */}}
{{- define "certroute.list" -}}
{{- if kindIs "slice" . -}}
{{- join "," . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* The port of a host:port address flag. */}}
{{- define "certroute.port" -}}
{{- $port := regexFind "[0-9]+$" . | int -}}
{{- if or (lt $port 1) (gt $port 65535) -}}
{{- fail (printf "address %q: the chart needs a fixed port 1-65535" .) -}}
{{- end -}}
{{- $port -}}
{{- end -}}

{{/* Labels of the helm test pod: not the operator's selector labels, so no ReplicaSet adopts it
and no Service routes to it. */}}
{{- define "certroute.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "certroute.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The HTTP-01 solver's rules (src/acme/solvers/http01.ts): per challenge, an Ingress (or an
HTTPRoute), a selector-less Service and its EndpointSlice in the Certificate's namespace. Part of
certroute.namespacedRules. Why each verb: docs/rbac.md. */}}
{{- define "certroute.solverRules" -}}
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [create, delete]
- apiGroups: ['']
  resources: [services]
  verbs: [list, create, delete]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, create, update, delete]
# HTTP-01 over Gateway API (http01.gatewayHTTPRoute, src/acme/solvers/http01-route.ts): the
# challenge HTTPRoute, made, read for its status.parents, listed and deleted at cleanup.
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, create, delete]
{{- end -}}

{{/* The rules on namespaced objects in the application namespaces (Ingresses, their TLS
Secrets, certroute's Certificates and DNSEndpoints, the HTTP-01 solver's objects, Events): in the
ClusterRole without config.watchNamespaces, else in a Role in each watched namespace only (the
operator then lists and watches them per namespace). Why each verb: docs/rbac.md. */}}
{{- define "certroute.namespacedRules" -}}
# Ingresses: watched (the source) and patched (the ACM certificate-arn annotation).
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch, patch]
{{ include "certroute.solverRules" . }}
# TLS Secrets (watched by label, read by name, written).
- apiGroups: ['']
  resources: [secrets]
  verbs: [get, list, watch, create, update, delete]
# Events (core/v1, as src/kube/events.ts writes them): new ones, and count bumps on repeats.
- apiGroups: ['']
  resources: [events]
  verbs: [create, patch]
# certroute's own namespaced resources, and their status.
- apiGroups: [certroute.io]
  resources: [certificates, dnsendpoints]
  verbs: [get, list, watch, create, update, delete]
- apiGroups: [certroute.io]
  resources: [certificates/status, dnsendpoints/status]
  verbs: [patch]
# Issuers (namespaced): read, and their status (Ready, account URI) written. Their account key
# and EAB Secrets are in their own namespace: the secrets rule above.
- apiGroups: [certroute.io]
  resources: [issuers]
  verbs: [get, list, watch]
- apiGroups: [certroute.io]
  resources: [issuers/status]
  verbs: [patch]
# The sources beyond Ingress (--sources): LoadBalancer Services, Gateways and their routes, read
# only (certroute never writes Gateway API objects).
- apiGroups: ['']
  resources: [services]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways, httproutes, grpcroutes, tlsroutes]
  verbs: [get, list, watch]
{{- end -}}
