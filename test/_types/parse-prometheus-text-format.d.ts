// The package ships no types. It parses Prometheus text exposition into metric families.
declare module 'parse-prometheus-text-format' {
  interface MetricFamily {
    name: string
    help: string
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
    metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }>
  }
  export default function parsePrometheusTextFormat(text: string): MetricFamily[]
}
