/**
 * Single-operator ONNX models encoded by hand (protobuf wire format), so the provider probe and
 * the benchmark's matmul peak need no model file on disk and no Python.
 */

export interface FloatTensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function field(fieldNumber: number, payload: number[] | string): number[] {
  const bytes = typeof payload === 'string' ? [...new TextEncoder().encode(payload)] : payload;
  return [...varint((fieldNumber << 3) | 2), ...varint(bytes.length), ...bytes];
}

function varintField(fieldNumber: number, value: number): number[] {
  return [...varint(fieldNumber << 3), ...varint(value)];
}

function valueInfo({ name, dims }: FloatTensorInfo): number[] {
  const shape = dims.flatMap((size) => field(1, varintField(1, size)));
  const tensorType = [...varintField(1, 1 /* FLOAT */), ...field(2, shape)];
  return [...field(1, name), ...field(2, field(1, tensorType))];
}

/** ModelProto (IR 8, opset 13) with one node of `opType` from `inputs` to `output`. */
export function singleNodeModel(opType: string, inputs: readonly FloatTensorInfo[], output: FloatTensorInfo): Uint8Array {
  const node = [...inputs.flatMap((input) => field(1, input.name)), ...field(2, output.name), ...field(4, opType)];
  const graph = [
    ...field(1, node),
    ...field(2, opType.toLowerCase()),
    ...inputs.flatMap((input) => field(11, valueInfo(input))),
    ...field(12, valueInfo(output)),
  ];
  const opset = [...field(1, ''), ...varintField(2, 13)];
  return Uint8Array.from([...varintField(1, 8), ...field(7, graph), ...field(8, opset)]);
}
