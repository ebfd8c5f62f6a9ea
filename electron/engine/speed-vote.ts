/**
 * Voting across playback speeds: a final caption is also searched with its chunk played a little faster and
 * slower, and each word of the rescored transcript is kept or replaced by what most of those searches put in
 * its place. Voices the encoder never heard read better at some other speed, and no score says which; the
 * speeds' errors differ, so a word vote removes some (native-models/README.md has the measurements).
 * The transcript at speed 1 is the pivot: a word changes only where more of the other speeds agree on
 * something else than agree with it, so the vote replaces or drops words and never adds one.
 * native-models/nestcap_av/speedvote.py does the same; native-models/tests/speed_vote_cases.json holds cases both must agree on.
 */

/** `pcm` played `speed` times as fast, by linear interpolation between samples. */
export function playAt(pcm: Float32Array, speed: number): Float32Array {
  if (speed === 1) return pcm;
  const count = Math.floor(pcm.length / speed);
  const out = new Float32Array(count);
  const last = pcm.length - 1;
  for (let index = 0; index < count; index += 1) {
    const position = index * speed;
    const left = Math.floor(position);
    out[index] = left >= last ? pcm[last]! : pcm[left]! + (position - left) * (pcm[left + 1]! - pcm[left]!);
  }
  return out;
}

/** The lip frames that match `playAt`: the nearest frame (halves rounded up) to each new frame time. */
export function framesAt(frames: { readonly pixels: Uint8Array; readonly count: number }, speed: number): { readonly pixels: Uint8Array; readonly count: number } {
  if (speed === 1) return frames;
  const frameSize = frames.pixels.length / frames.count;
  const count = Math.floor(frames.count / speed);
  const pixels = new Uint8Array(count * frameSize);
  for (let index = 0; index < count; index += 1) {
    const source = Math.min(Math.floor(index * speed + 0.5), frames.count - 1);
    pixels.set(frames.pixels.subarray(source * frameSize, (source + 1) * frameSize), index * frameSize);
  }
  return { pixels, count };
}

/**
 * For each pivot word, the word of `other` aligned to it by the fewest word edits, or '' where `other`
 * leaves it out. Among equally cheap alignments the trace back prefers a match or substitution, then a deletion.
 */
export function alignWords(pivot: readonly string[], other: readonly string[]): string[] {
  const columns = other.length + 1;
  const cost = new Int32Array((pivot.length + 1) * columns);
  for (let i = 0; i <= pivot.length; i += 1) cost[i * columns] = i;
  for (let j = 0; j <= other.length; j += 1) cost[j] = j;
  const at = (i: number, j: number) => cost[i * columns + j]!;
  for (let i = 1; i <= pivot.length; i += 1) {
    for (let j = 1; j <= other.length; j += 1) {
      const substitution = at(i - 1, j - 1) + (pivot[i - 1] === other[j - 1] ? 0 : 1);
      cost[i * columns + j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, substitution);
    }
  }
  const aligned = pivot.map(() => '');
  let i = pivot.length;
  let j = other.length;
  while (i > 0 && j > 0) {
    if (at(i, j) === at(i - 1, j - 1) + (pivot[i - 1] === other[j - 1] ? 0 : 1)) {
      aligned[i - 1] = other[j - 1]!;
      i -= 1;
      j -= 1;
    } else if (at(i, j) === at(i - 1, j) + 1) {
      i -= 1;
    } else {
      j -= 1;
    }
  }
  return aligned;
}

/**
 * Each pivot word, or what a strict majority over it of the other transcripts put in its place ('' drops it).
 * The pivot's own vote counts one and wins ties; among other words with equal votes, the first seen wins.
 */
export function voteWords(pivot: readonly string[], others: readonly (readonly string[])[]): string[] {
  const ballots = pivot.map(() => new Map<string, number>());
  for (const other of others) {
    alignWords(pivot, other).forEach((word, index) => ballots[index]!.set(word, (ballots[index]!.get(word) ?? 0) + 1));
  }
  const out: string[] = [];
  pivot.forEach((word, index) => {
    const ballot = ballots[index]!;
    let best = word;
    let count = (ballot.get(word) ?? 0) + 1;
    for (const [candidate, votes] of ballot) {
      if (candidate !== word && votes > count) {
        best = candidate;
        count = votes;
      }
    }
    if (best !== '') out.push(best);
  });
  return out;
}

/** The words of a transcript, as the vote counts them. */
export function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}
