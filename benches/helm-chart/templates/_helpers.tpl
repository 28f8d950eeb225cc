{{- define "cnpg.labels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/instance: {{ $root.Values.name }}
app.kubernetes.io/managed-by: cnpgtp
app.kubernetes.io/name: postgresql
app.kubernetes.io/part-of: {{ $root.Values.name }}
app.kubernetes.io/version: {{ $root.Values.postgres.version }}-{{ $root.Values.postgres.flavour }}-trixie
cnpgtp.io/stage: {{ $root.Values.stage }}
{{- end -}}
