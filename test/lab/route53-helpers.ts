import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { uniqueName } from './names.js';

export async function createZone(
  r53: Route53Client,
  prefix: string,
): Promise<{ id: string; name: string }> {
  const name = `${uniqueName(prefix)}.test`;
  const z = await r53.send(
    new CreateHostedZoneCommand({ Name: name, CallerReference: uniqueName('ref') }),
  );
  return { id: (z.HostedZone?.Id ?? '').replace('/hostedzone/', ''), name };
}

export async function records(r53: Route53Client, zoneId: string): Promise<ResourceRecordSet[]> {
  const res = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return res.ResourceRecordSets ?? [];
}

/** name (no trailing dot) and type → the record set, or undefined. */
export async function record(
  r53: Route53Client,
  zoneId: string,
  name: string,
  type: string,
): Promise<ResourceRecordSet | undefined> {
  return (await records(r53, zoneId)).find(
    (r) => r.Name?.replace(/\.$/, '').replace('\\052', '*') === name && r.Type === type,
  );
}

/**
 * CREATEs (or UPSERTs) a record, fully qualified as Route53 stores names. Two moto quirks make
 * both matter: it compares names literally, and its duplicate check on CREATE misses records
 * that were written by UPSERT (real Route53 rejects both duplicates).
 */
export async function put(
  r53: Route53Client,
  zoneId: string,
  name: string,
  type: string,
  values: string[],
  action: 'CREATE' | 'UPSERT' = 'CREATE',
): Promise<void> {
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: action,
            ResourceRecordSet: {
              Name: name,
              Type: type as 'A',
              TTL: 60,
              ResourceRecords: values.map((Value) => ({ Value })),
            },
          },
        ],
      },
    }),
  );
}
