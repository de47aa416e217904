import { isIPv4, isIPv6 } from 'node:net';

export type RecordType = 'A' | 'AAAA' | 'CNAME';

export interface TargetRecord {
  recordType: RecordType;
  targets: string[];
  /** Set only for Route53 ALIAS records: the canonical hosted zone of the AWS resource aliased. */
  aliasHostedZoneID?: string;
}

/**
 * 'apigateway' and 's3-website' are part of the type so callers can switch over the full set of
 * Route53 alias targets, but awsAliasZone does not recognise them yet: their hostnames carry no
 * load balancer we could alias to from an Ingress status, and their per-region ids would need a
 * table of their own.
 */
export type AwsAliasService =
  'elb' | 'nlb' | 'cloudfront' | 'globalaccelerator' | 'apigateway' | 's3-website';

export interface AwsAliasZone {
  service: AwsAliasService;
  /** Absent for global services (CloudFront, Global Accelerator). */
  region?: string;
  hostedZoneID: string;
}

/** Canonical hosted zone ids of one region's load balancers. */
interface LoadBalancerZones {
  /** Classic and Application Load Balancers (`<name>.<region>.elb.amazonaws.com`). */
  elb: string;
  /** Network Load Balancers (`<name>.elb.<region>.amazonaws.com`); optional for regions not yet sourced. */
  nlb?: string;
}

/**
 * Per-region canonical hosted zone ids, from AWS's "Elastic Load Balancing endpoints and quotas"
 * page (general reference, elb.html), cross-checked against the tables kept by external-dns and
 * the Terraform AWS provider. These ids are fixed per region and per load balancer family, which
 * is why a static table is safe; a region missing here makes awsAliasZone answer undefined.
 */
const loadBalancerZones: ReadonlyMap<string, LoadBalancerZones> = new Map(
  Object.entries({
    // North America
    'us-east-1': { elb: 'Z35SXDOTRQ7X7K', nlb: 'Z26RNL4JYFTOTI' },
    'us-east-2': { elb: 'Z3AADJGX6KTTL2', nlb: 'ZLMOA37VPKANP' },
    'us-west-1': { elb: 'Z368ELLRRE2KJ0', nlb: 'Z24FKFUX50B4VW' },
    'us-west-2': { elb: 'Z1H1FL5HABSF5', nlb: 'Z18D5FSROUN65G' },
    'ca-central-1': { elb: 'ZQSVJUPU6J1EY', nlb: 'Z2EPGBW3API2WT' },
    'ca-west-1': { elb: 'Z06473681N0SF6OS049SD', nlb: 'Z02754302KBB00W2LKWZ9' },
    'mx-central-1': { elb: 'Z023552324OKD1BB28BH5', nlb: 'Z02031231H3ID6HYJ9A7U' },
    // South America
    'sa-east-1': { elb: 'Z2P70J7HTTTPLU', nlb: 'ZTK26PT1VY4CU' },
    // Europe
    'eu-central-1': { elb: 'Z215JYRZR1TBD5', nlb: 'Z3F0SRJ5LGBH90' },
    'eu-central-2': { elb: 'Z06391101F2ZOEP8P5EB3', nlb: 'Z02239872DOALSIDCX66S' },
    'eu-north-1': { elb: 'Z23TAZ6LKFMNIO', nlb: 'Z1UDT6IFJ4EJM' },
    'eu-south-1': { elb: 'Z3ULH7SSC9OV64', nlb: 'Z23146JA1KNAFP' },
    'eu-south-2': { elb: 'Z0956581394HF5D5LXGAP', nlb: 'Z1011216NVTVYADP1SSV' },
    'eu-west-1': { elb: 'Z32O12XQLNTSW2', nlb: 'Z2IFOLAFXWLO4F' },
    'eu-west-2': { elb: 'ZHURV8PSTC4K8', nlb: 'ZD4D7Y8KGAS4G' },
    'eu-west-3': { elb: 'Z3Q77PNBQS71R4', nlb: 'Z1CMS0P5QUZ6D5' },
    // Middle East and Africa
    'af-south-1': { elb: 'Z268VQBMOI5EKX', nlb: 'Z203XCE67M25HM' },
    'il-central-1': { elb: 'Z09170902867EHPV2DABU', nlb: 'Z0313266YDI6ZRHTGQY4' },
    'me-central-1': { elb: 'Z08230872XQRWHG2XF6I', nlb: 'Z00282643NTTLPANJJG2P' },
    'me-south-1': { elb: 'ZS929ML54UICD', nlb: 'Z3QSRYVP46NYYV' },
    // Asia Pacific
    'ap-east-1': { elb: 'Z3DQVH9N71FHZ0', nlb: 'Z12Y7K3UBGUAD1' },
    'ap-east-2': { elb: 'Z02789141MW7T1WBU19PO', nlb: 'Z09176273OC2HWIAUNYW' },
    'ap-northeast-1': { elb: 'Z14GRHDCWA56QT', nlb: 'Z31USIVHYNEOWT' },
    'ap-northeast-2': { elb: 'ZWKZPGTI48KDX', nlb: 'ZIBE1TIR4HY56' },
    'ap-northeast-3': { elb: 'Z5LXEXXYW11ES', nlb: 'Z1GWIQ4HH19I5X' },
    'ap-south-1': { elb: 'ZP97RAFLXTNZK', nlb: 'ZVDDRBQ08TROA' },
    'ap-south-2': { elb: 'Z0173938T07WNTVAEPZN', nlb: 'Z0711778386UTO08407HT' },
    'ap-southeast-1': { elb: 'Z1LMS91P8CMLE5', nlb: 'ZKVM4W9LS7TM' },
    'ap-southeast-2': { elb: 'Z1GM3OXH4ZPM65', nlb: 'ZCT6FZBF4DROD' },
    'ap-southeast-3': { elb: 'Z08888821HLRG5A9ZRTER', nlb: 'Z01971771FYVNCOVWJU1G' },
    'ap-southeast-4': { elb: 'Z09517862IB2WZLPXG76F', nlb: 'Z01156963G8MIIL7X90IV' },
    'ap-southeast-5': { elb: 'Z06010284QMVVW7WO5J', nlb: 'Z026317210H9ACVTRO6FB' },
    'ap-southeast-6': { elb: 'Z023301818UFJ50CIO0MV', nlb: 'Z01392953RKV2Q3RBP0KU' },
    'ap-southeast-7': { elb: 'Z0390008CMBRTHFGWBCB', nlb: 'Z054363131YWATEMWRG5L' },
    // China partition (hostnames end in amazonaws.com.cn)
    'cn-north-1': { elb: 'Z1GDH35T77C1KE', nlb: 'Z3QFB96KMJ7ED6' },
    'cn-northwest-1': { elb: 'ZM7IZAIOVVDZF', nlb: 'ZQEIKTCZ8352D' },
    // GovCloud partition
    'us-gov-east-1': { elb: 'Z166TLBEWOO7G0', nlb: 'Z1ZSMQQ6Q24QQ8' },
    'us-gov-west-1': { elb: 'Z33AYJ8TM3BH4J', nlb: 'ZMG1MZ2THAWF1' },
  }),
);

/** CloudFront distributions share one hosted zone worldwide. */
const cloudFrontZone = 'Z2FDTNDATAQYW2';
/** Global Accelerator accelerators share one hosted zone worldwide. */
const globalAcceleratorZone = 'Z2BJ6XQ5FK7U4H';

// Region ids look like us-east-1, us-gov-west-1, cn-northwest-1. Checking the shape keeps labels
// of unrelated amazonaws.com hostnames (e.g. execute-api, s3-website) from being read as regions.
const regionPattern = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** Lower-cases and drops one trailing dot, so `Foo.Example.com.` and `foo.example.com` compare equal. */
function normalizeHostname(hostname: string): string {
  const lower = hostname.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Matches `<anything>.<suffix>` with at least one label before the suffix. */
function hasLabelBefore(host: string, suffix: string): boolean {
  return host.length > suffix.length + 1 && host.endsWith(`.${suffix}`);
}

function loadBalancerZone(host: string): AwsAliasZone | undefined {
  let china: boolean;
  let rest: string;
  if (hasLabelBefore(host, 'amazonaws.com.cn')) {
    china = true;
    rest = host.slice(0, -'.amazonaws.com.cn'.length);
  } else if (hasLabelBefore(host, 'amazonaws.com')) {
    china = false;
    rest = host.slice(0, -'.amazonaws.com'.length);
  } else {
    return undefined;
  }

  // Need the load balancer's own name in front of the two labels that carry region and family.
  const labels = rest.split('.');
  if (labels.length < 3 || labels.some((label) => label === '')) return undefined;
  const last = labels[labels.length - 1] ?? '';
  const secondLast = labels[labels.length - 2] ?? '';

  let service: 'elb' | 'nlb';
  let region: string;
  if (last === 'elb') {
    // <name>.<region>.elb.amazonaws.com: Classic and Application Load Balancers
    // (also with internal- or dualstack. in front of the name).
    service = 'elb';
    region = secondLast;
  } else if (secondLast === 'elb') {
    // <name>.elb.<region>.amazonaws.com: Network Load Balancers.
    service = 'nlb';
    region = last;
  } else {
    return undefined;
  }

  // A China region only exists under amazonaws.com.cn and vice versa; a mismatch is not a real
  // load balancer, and an ALIAS to it would be rejected by Route53.
  if (!regionPattern.test(region) || region.startsWith('cn-') !== china) return undefined;

  // An unknown region (one launched after this table was written) yields undefined rather than a
  // guessed id: Route53 rejects an ALIAS whose hosted zone does not match the target, whereas a
  // CNAME to the same hostname keeps resolving correctly (it only loses zone-apex support).
  const hostedZoneID = loadBalancerZones.get(region)?.[service];
  return hostedZoneID === undefined ? undefined : { service, region, hostedZoneID };
}

/**
 * Which AWS service a hostname belongs to and the canonical hosted zone id Route53 ALIAS records
 * need, or undefined for a non-AWS hostname.
 */
export function awsAliasZone(hostname: string): AwsAliasZone | undefined {
  const host = normalizeHostname(hostname);
  if (hasLabelBefore(host, 'cloudfront.net')) {
    return { service: 'cloudfront', hostedZoneID: cloudFrontZone };
  }
  if (hasLabelBefore(host, 'awsglobalaccelerator.com')) {
    return { service: 'globalaccelerator', hostedZoneID: globalAcceleratorZone };
  }
  return loadBalancerZone(host);
}

/** Numeric order for dotted quads, so 10.0.0.9 sorts before 10.0.0.10. */
function compareIPv4(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

// Plain code-unit order: localeCompare would make the output depend on the process locale.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Turns an Ingress's status.loadBalancer.ingress entries (IPs and/or hostnames) into the records a
 * host needs:
 * - IPv4 addresses -> one A record (all IPv4 targets, sorted, deduplicated);
 * - IPv6 addresses -> one AAAA record;
 * - an AWS load balancer / CloudFront / Global Accelerator hostname -> ALIAS: an A record AND an
 *   AAAA record, each with targets [hostname] and aliasHostedZoneID set;
 * - any other hostname -> one CNAME with that single hostname;
 * - IPs win over hostnames when both are present.
 * Hostnames are lower-cased and a trailing dot removed. Empty input -> [].
 */
export function recordsForTargets(addresses: { ip?: string; hostname?: string }[]): TargetRecord[] {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  const hostnames = new Set<string>();

  const addIP = (ip: string): boolean => {
    if (isIPv4(ip)) v4.add(ip);
    // Lower-cased so 2001:DB8::1 and 2001:db8::1 are one target.
    else if (isIPv6(ip)) v6.add(ip.toLowerCase());
    else return false;
    return true;
  };

  for (const address of addresses) {
    // A malformed ip is dropped rather than published: the status is written by whichever
    // controller owns the load balancer, and a bad value must not become a broken record.
    const ip = address.ip?.trim();
    if (ip) addIP(ip);
    const hostname = address.hostname === undefined ? '' : normalizeHostname(address.hostname);
    // Some controllers put a literal address into hostname; a CNAME to an IP would be invalid.
    if (hostname && !addIP(hostname)) hostnames.add(hostname);
  }

  // IPs win: they are what clients would end up at anyway and need no extra lookup, and a name
  // cannot hold a CNAME next to A/AAAA records, so mixing the two kinds is not an option.
  if (v4.size > 0 || v6.size > 0) {
    const records: TargetRecord[] = [];
    if (v4.size > 0) records.push({ recordType: 'A', targets: [...v4].sort(compareIPv4) });
    if (v6.size > 0) records.push({ recordType: 'AAAA', targets: [...v6].sort(compareStrings) });
    return records;
  }

  const sorted = [...hostnames].sort(compareStrings);
  // An AWS target is preferred over any other hostname: an ALIAS also works at the zone apex,
  // where a CNAME is not allowed, and Route53 does not bill queries to it. A and AAAA both
  // alias the same name; Route53 only answers AAAA if the target is dualstack, which is harmless.
  for (const hostname of sorted) {
    const zone = awsAliasZone(hostname);
    if (zone) {
      return [
        { recordType: 'A', targets: [hostname], aliasHostedZoneID: zone.hostedZoneID },
        { recordType: 'AAAA', targets: [hostname], aliasHostedZoneID: zone.hostedZoneID },
      ];
    }
  }

  // A CNAME can have exactly one target, so with several hostnames the first in sorted order is
  // taken; sorting makes the choice stable across reconciles whatever order the status lists them.
  const first = sorted[0];
  return first === undefined ? [] : [{ recordType: 'CNAME', targets: [first] }];
}
