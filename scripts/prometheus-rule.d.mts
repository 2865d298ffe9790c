export declare const RULES_FILE: string;
export declare const PROMETHEUS_RULE_FILE: string;
/** The PrometheusRule resource (YAML text) carrying the rules file's groups unchanged. */
export declare function prometheusRuleText(rulesText: string): string;
