/**
 * A small ONNX graph builder over the `onnx-proto` protobuf classes.
 *
 * It names values, adds nodes and initializers, and encodes a ModelProto. Float weights are
 * kept in `weights` as well, so tests can run a reference forward pass on the same numbers.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type NodeProto = onnxProto.onnx.INodeProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/** ONNX element types used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

/** A node attribute: int, float, ints or floats. */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] };
/** Integer attribute. */
export const ai = (i: number): Attr => ({ i });
/** Float attribute. */
export const af = (f: number): Attr => ({ f });
/** Integer-list attribute. */
export const aints = (ints: number[]): Attr => ({ ints });

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function toAttribute(name: string, a: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("i" in a) return { name, type: T.INT, i: a.i };
  if ("f" in a) return { name, type: T.FLOAT, f: a.f };
  if ("ints" in a) return { name, type: T.INTS, ints: a.ints };
  return { name, type: T.FLOATS, floats: a.floats };
}

function bytesOf(data: Float32Array | BigInt64Array | Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Builds one ONNX graph. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  /** Float initializers by name, for reference computations in tests. */
  readonly weights = new Map<string, { dims: number[]; data: Float32Array }>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Declares a graph input. */
  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares a graph output (the value must be produced by a node). */
  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a float initializer and records it in `weights`. */
  weight(name: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`weight ${name}: ${data.length} values for dims ${dims}`);
    this.weights.set(name, { dims, data });
    this.initializers.push({ name, dims, dataType: DT.FLOAT, rawData: bytesOf(data) });
    return name;
  }

  /** Adds an initializer of any supported element type. */
  tensor(name: string, dims: number[], dataType: number, data: BigInt64Array | Int8Array | Uint8Array | Float32Array): string {
    this.initializers.push({ name, dims, dataType, rawData: bytesOf(data) });
    return name;
  }

  /** An int64 constant (1-D unless dims are given). */
  int64(values: number[], dims: number[] = [values.length]): string {
    return this.tensor(this.fresh("const_i64"), dims, DT.INT64, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    return this.tensor(this.fresh("const_f32"), [], DT.FLOAT, Float32Array.of(value));
  }

  /** Adds a node with one output and returns the output name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    return this.opN(opType, inputs, 1, attrs, output ? [output] : undefined)[0];
  }

  /** Adds a node with `n` outputs and returns their names. */
  opN(opType: string, inputs: string[], n: number, attrs: Record<string, Attr> = {}, outputs?: string[]): string[] {
    const outs = outputs ?? Array.from({ length: n }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      name: this.fresh(`node_${opType}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return outs;
  }

  /** Encodes the graph as an ONNX model (IR 8, default-domain opset `opset`). */
  encode(opset = 17, producer = "clipdb make-test-model"): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      producerVersion: "1",
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
