// The VMs' network, `vmci-vms`: custom subnets (one per region of the platforms'
// zones) with Private Google Access, no inbound traffic at all, no traffic to
// private ranges (other VMs, anything peered), and Cloud NAT for the way out.
// Platforms use it with network: global/networks/vmci-vms and
// subnetwork: regions/<region>/subnetworks/vmci-vms.
import type { VmciConfig } from '../../../shared/config';
import type { Resource } from './resources';

export const VM_NETWORK = 'vmci-vms';
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** The regions of every platform's zones, sorted. */
export function vmRegions(config: Pick<VmciConfig, 'platforms'>): string[] {
  const zones = Object.values(config.platforms).flatMap((p) => p.zones);
  return [...new Set(zones.map((zone) => zone.slice(0, zone.lastIndexOf('-'))))].sort();
}

/** One /20 per region, from 10.200.0.0 on (inside a range the VMs cannot reach). */
export function subnetRange(index: number): string {
  return `10.200.${index * 16}.0/20`;
}

/** Platforms that do not run on this network, with what to write instead. */
export function platformsOffNetwork(config: Pick<VmciConfig, 'platforms' | 'project'>): string[] {
  const ours = [
    `global/networks/${VM_NETWORK}`,
    `projects/${config.project}/global/networks/${VM_NETWORK}`,
  ];
  return Object.entries(config.platforms)
    .filter(([, p]) => !ours.includes(p.network))
    .map(([name, p]) => {
      const region = vmRegions({ platforms: { [name]: p } })[0];
      return `note: platforms.${name} runs on ${p.network}; for the network deploy makes (no inbound, no private ranges) set network: global/networks/${VM_NETWORK} and subnetwork: regions/${region}/subnetworks/${VM_NETWORK}`;
    });
}

export function networkResources(config: VmciConfig): Resource[] {
  const p = `--project=${config.project}`;
  const describe = (...args: string[]) => [...args, '--format=json', p];
  const net = `--network=${VM_NETWORK}`;
  const network: Resource = {
    kind: 'network',
    name: VM_NETWORK,
    probe: {
      type: 'describe',
      args: describe('compute', 'networks', 'describe', VM_NETWORK),
      fields: { name: 'name' },
    },
    want: { name: VM_NETWORK },
    create: [
      {
        via: 'gcloud',
        args: ['compute', 'networks', 'create', VM_NETWORK, '--subnet-mode=custom', p],
      },
    ],
  };
  const regional = vmRegions(config).flatMap((region, index): Resource[] => {
    const r = `--region=${region}`;
    const subnet: Resource = {
      kind: 'subnet',
      name: `${VM_NETWORK} in ${region}`,
      probe: {
        type: 'describe',
        args: describe('compute', 'networks', 'subnets', 'describe', VM_NETWORK, r),
        fields: { privateGoogleAccess: 'privateIpGoogleAccess' },
      },
      want: { privateGoogleAccess: 'true' },
      create: [
        {
          via: 'gcloud',
          args: [
            ...['compute', 'networks', 'subnets', 'create', VM_NETWORK, net, r],
            `--range=${subnetRange(index)}`,
            '--enable-private-ip-google-access',
            p,
          ],
        },
      ],
      update: () => [
        {
          via: 'gcloud',
          args: [
            ...['compute', 'networks', 'subnets', 'update', VM_NETWORK, r],
            '--enable-private-ip-google-access',
            p,
          ],
        },
      ],
    };
    const router: Resource = {
      kind: 'router',
      name: `${VM_NETWORK} in ${region}`,
      probe: {
        type: 'describe',
        args: describe('compute', 'routers', 'describe', VM_NETWORK, r),
        fields: { name: 'name' },
      },
      want: { name: VM_NETWORK },
      create: [{ via: 'gcloud', args: ['compute', 'routers', 'create', VM_NETWORK, net, r, p] }],
    };
    const nat: Resource = {
      kind: 'cloud nat',
      name: `${VM_NETWORK} in ${region}`,
      probe: {
        type: 'describe',
        args: describe(
          'compute',
          'routers',
          'nats',
          'describe',
          VM_NETWORK,
          `--router=${VM_NETWORK}`,
          r,
        ),
        fields: { name: 'name' },
      },
      want: { name: VM_NETWORK },
      create: [
        {
          via: 'gcloud',
          args: [
            ...['compute', 'routers', 'nats', 'create', VM_NETWORK, `--router=${VM_NETWORK}`, r],
            '--auto-allocate-nat-external-ips',
            '--nat-all-subnet-ip-ranges',
            p,
          ],
        },
      ],
    };
    return [subnet, router, nat];
  });
  return [network, ...regional, firewall(config, 'INGRESS'), firewall(config, 'EGRESS')];
}

/** Deny all inbound; deny all outbound to private ranges. Priority 100 beats any later allow. */
function firewall(config: VmciConfig, direction: 'INGRESS' | 'EGRESS'): Resource {
  const p = `--project=${config.project}`;
  const name =
    direction === 'INGRESS' ? `${VM_NETWORK}-deny-ingress` : `${VM_NETWORK}-deny-private`;
  const ranges = direction === 'INGRESS' ? ['0.0.0.0/0'] : [...PRIVATE_RANGES];
  const rangeFlag = direction === 'INGRESS' ? '--source-ranges' : '--destination-ranges';
  return {
    kind: 'firewall rule',
    name,
    probe: {
      type: 'describe',
      args: ['compute', 'firewall-rules', 'describe', name, '--format=json', p],
      fields: {
        direction: 'direction',
        denied: 'denied.0.IPProtocol',
        ranges: direction === 'INGRESS' ? 'sourceRanges' : 'destinationRanges',
        priority: 'priority',
      },
    },
    want: { direction, denied: 'all', ranges: [...ranges].sort().join(','), priority: '100' },
    create: [
      {
        via: 'gcloud',
        args: [
          ...['compute', 'firewall-rules', 'create', name, `--network=${VM_NETWORK}`],
          `--direction=${direction}`,
          '--action=DENY',
          '--rules=all',
          `${rangeFlag}=${ranges.join(',')}`,
          '--priority=100',
          p,
        ],
      },
    ],
    update: () => [
      {
        via: 'gcloud',
        args: [
          ...['compute', 'firewall-rules', 'update', name],
          '--rules=all',
          `${rangeFlag}=${ranges.join(',')}`,
          '--priority=100',
          p,
        ],
      },
    ],
  };
}

/** `gcloud … delete` for each network resource, in the order they can go (undeploy). */
export function networkDeletions(
  config: VmciConfig,
): Array<{ resource: Resource; args: string[] }> {
  const p = `--project=${config.project}`;
  const byName = new Map(networkResources(config).map((r) => [`${r.kind} ${r.name}`, r]));
  const entry = (key: string, args: string[]) => ({
    resource: byName.get(key)!,
    args: [...args, p, '--quiet'],
  });
  const regional = vmRegions(config).flatMap((region) => {
    const r = `--region=${region}`;
    return [
      entry(`cloud nat ${VM_NETWORK} in ${region}`, [
        'compute',
        'routers',
        'nats',
        'delete',
        VM_NETWORK,
        `--router=${VM_NETWORK}`,
        r,
      ]),
      entry(`router ${VM_NETWORK} in ${region}`, ['compute', 'routers', 'delete', VM_NETWORK, r]),
      entry(`subnet ${VM_NETWORK} in ${region}`, [
        'compute',
        'networks',
        'subnets',
        'delete',
        VM_NETWORK,
        r,
      ]),
    ];
  });
  return [
    entry(`firewall rule ${VM_NETWORK}-deny-ingress`, [
      'compute',
      'firewall-rules',
      'delete',
      `${VM_NETWORK}-deny-ingress`,
    ]),
    entry(`firewall rule ${VM_NETWORK}-deny-private`, [
      'compute',
      'firewall-rules',
      'delete',
      `${VM_NETWORK}-deny-private`,
    ]),
    ...regional,
    entry(`network ${VM_NETWORK}`, ['compute', 'networks', 'delete', VM_NETWORK]),
  ];
}
