/**
 * Workflow histories to and from the JSON form that Temporal's tools share (`temporal workflow show --output
 * json`, the Web UI's download, the SDK's historyToJSON/historyFromJSON): proto3 JSON of
 * temporal.api.history.v1.History, int64 as strings, enums by their full names.
 *
 * Why not the SDK's own helpers: with this project's lockfile, @temporalio/common and @temporalio/proto each get
 * their own copy of protobufjs 8 (the root node_modules holds the protobufjs 7 of @grpc/proto-loader), and
 * historyToJSON/historyFromJSON hand a message type of one copy to the JSON code of the other, which fails its
 * `instanceof` check with "TypeError: type must be a Type". Worker.runReplayHistories reads JSON through
 * historyFromJSON too, so the replay test passes it decoded histories. These two functions are the SDK's, run
 * with the protobufjs copy that defined the types. Once `npm ls protobufjs` shows one copy of 8.x, the SDK's
 * helpers can replace them (the files stay the same).
 */
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}
interface ProtobufRoot {
  lookupType(name: string): unknown;
}

const requireFromHere = createRequire(import.meta.url);
// The protobufjs that @temporalio/proto resolves is the one whose Type its messages are built from.
const requireFromProto = createRequire(requireFromHere.resolve('@temporalio/proto'));
// The CommonJS module object (an ESM namespace import would hide its lookup functions from patchProtobufRoot).
const proto = requireFromHere('@temporalio/proto') as typeof import('@temporalio/proto');
const protoJson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const { patchProtobufRoot } = requireFromHere('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: (root: unknown) => ProtobufRoot };
const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');

/** The history as Temporal's tools write it (what historyToJSON of a working install writes). */
export function historyToJSON(history: History): string {
  return JSON.stringify(protoJson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

/** A history read back from that JSON, ready for Worker.runReplayHistory(ies). Unknown fields (a newer server's) are ignored. */
export function historyFromJSON(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected an object with an array of events');
  }
  const history = protoJson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('not a workflow history');
  return history as History;
}
