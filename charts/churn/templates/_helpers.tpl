{{/* Common labels; step names and label keys match the runner's (pipelines/runner/kubernetes/names.ts). */}}
{{- define "churn.labels" -}}
app.kubernetes.io/name: churn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "churn.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Pod-level security: non-root (the image's USER 65534), seccomp RuntimeDefault. The same as the
     runner's pod template (pipelines/runner/kubernetes/pod-template.ts); test/kubernetes-runner.chart.test.ts
     compares the two. */}}
{{- define "churn.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: read-only root, no privilege escalation, no capabilities (as the
     runner's pod template; compared by the same test). */}}
{{- define "churn.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "churn.env" -}}
{{- if .Values.env }}
env:
{{- range $name, $value := .Values.env }}
  - name: {{ $name }}
    value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- if .Values.envFromSecret }}
envFrom:
  - secretRef:
      name: {{ .Values.envFromSecret }}
{{- end }}
{{- end }}
