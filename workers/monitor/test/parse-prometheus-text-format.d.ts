declare module "parse-prometheus-text-format" {
  /** Parse the Prometheus text format into metric families (the shape prom2json prints). */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
