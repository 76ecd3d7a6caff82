// What gzip costs per scrape body: zlib (level 1, a new deflate stream per body, as http::Gzip
// did until it moved to libdeflate) against zlib's cheaper strategies, libdeflate (Debian's
// libdeflate0, loaded with dlopen; http::Gzip used its level 1 until it moved to igzip) and
// ISA-L's igzip (libisal-dev; as http::Gzip calls it: stateless, level 1, state kept).
//   c++ -std=c++20 -O2 -o /tmp/gzip_body bench/micro/gzip_body.cpp -lz -ldl -lisal
//   curl -s http://127.0.0.1:9355/metrics >/tmp/body.txt && /tmp/gzip_body /tmp/body.txt 300
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// As http::Gzip did with zlib: deflateInit2 per body, output sized by deflateBound.
[[gnu::noinline]] size_t ZlibGzip(const std::string& in, std::string& out, int level, int strategy) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, strategy) != Z_OK) return 0;
  out.resize(deflateBound(&z, in.size()) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const bool ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
  const size_t n = ok ? z.total_out : 0;
  deflateEnd(&z);
  return n;
}

// The same, the body given as the server holds it: one piece per family, deflate() per piece.
[[gnu::noinline]] size_t ZlibGzipPieces(const std::vector<std::string>& pieces, size_t total, std::string& out) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
  out.resize(deflateBound(&z, total) + 64);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  bool ok = true;
  for (const auto& p : pieces) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p.data()));
    z.avail_in = static_cast<uInt>(p.size());
    ok = ok && deflate(&z, Z_NO_FLUSH) == Z_OK;
  }
  ok = ok && deflate(&z, Z_FINISH) == Z_STREAM_END;
  const size_t n = ok ? z.total_out : 0;
  deflateEnd(&z);
  return n;
}

template <typename F>
void Time(const char* name, size_t in_bytes, int reps, F&& f) {
  size_t out = f();  // warm
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) out = f();
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / reps;
  std::printf("%-44s %8.3f ms  %7.1f MB/s  %8zu -> %7zu bytes (%.1fx)\n", name, ms, in_bytes / ms / 1e3, in_bytes, out,
              out ? static_cast<double>(in_bytes) / static_cast<double>(out) : 0.0);
}

}  // namespace

// A straight sequence of measurements, each printed as it ends: one function (~90 lines) to
// read top to bottom.
int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gzip_body BODY_FILE [REPS]\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string body = ss.str();
  const int reps = argc > 2 ? std::atoi(argv[2]) : 200;
  std::string out;
  Time("zlib level 1 (http::Gzip)", body.size(), reps, [&] { return ZlibGzip(body, out, 1, Z_DEFAULT_STRATEGY); });
  std::vector<std::string> pieces;  // split before each "# HELP": one piece per family
  for (size_t pos = 0; pos < body.size();) {
    size_t next = body.find("\n# HELP", pos + 1);
    next = next == std::string::npos ? body.size() : next + 1;
    pieces.push_back(body.substr(pos, next - pos));
    pos = next;
  }
  char label[64];
  std::snprintf(label, sizeof(label), "zlib level 1, %zu pieces (one per family)", pieces.size());
  Time(label, body.size(), reps, [&] { return ZlibGzipPieces(pieces, body.size(), out); });
  Time("zlib level 1, Z_RLE", body.size(), reps, [&] { return ZlibGzip(body, out, 1, Z_RLE); });
  Time("zlib level 1, Z_HUFFMAN_ONLY", body.size(), reps, [&] { return ZlibGzip(body, out, 1, Z_HUFFMAN_ONLY); });
  Time("zlib level 6 (default)", body.size(), reps, [&] { return ZlibGzip(body, out, 6, Z_DEFAULT_STRATEGY); });
  Time("copy only (memcpy of the body)", body.size(), reps, [&] {
    out.assign(body);
    return out.size();
  });

  // igzip: the state and level buffer reused from body to body, as http::Gzip keeps them.
  struct Igzip {
    const char* name;
    int level;
    std::uint32_t level_buf_size;
  };
  for (const Igzip& g :
       {Igzip{"igzip level 0", 0, 0}, Igzip{"igzip level 1, minimum level buffer", 1, ISAL_DEF_LVL1_MIN},
        Igzip{"igzip level 1, small level buf (http::Gzip)", 1, ISAL_DEF_LVL1_SMALL},
        Igzip{"igzip level 1, large level buffer", 1, ISAL_DEF_LVL1_LARGE}}) {
    auto stream = std::make_unique<isal_zstream>();
    std::vector<std::uint8_t> level_buf(g.level_buf_size);
    Time(g.name, body.size(), reps, [&] {
      out.resize(body.size() + body.size() / 8192 + 1024);
      isal_zstream& z = *stream;
      isal_deflate_stateless_init(&z);
      z.level = static_cast<std::uint32_t>(g.level);
      z.level_buf = g.level_buf_size ? level_buf.data() : nullptr;
      z.level_buf_size = g.level_buf_size;
      z.gzip_flag = IGZIP_GZIP;
      z.end_of_stream = 1;
      z.flush = NO_FLUSH;
      z.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(body.data()));
      z.avail_in = static_cast<std::uint32_t>(body.size());
      z.next_out = reinterpret_cast<std::uint8_t*>(out.data());
      z.avail_out = static_cast<std::uint32_t>(out.size());
      return isal_deflate_stateless(&z) == COMP_OK ? static_cast<size_t>(z.total_out) : size_t{0};
    });
  }

  void* lib = dlopen("libdeflate.so.0", RTLD_NOW);
  if (!lib) {
    std::printf("libdeflate.so.0 not found (Debian: libdeflate0)\n");
    return 0;
  }
  using Alloc = void* (*)(int);
  using Compress = size_t (*)(void*, const void*, size_t, void*, size_t);
  using Bound = size_t (*)(void*, size_t);
  using Free = void (*)(void*);
  auto alloc = reinterpret_cast<Alloc>(dlsym(lib, "libdeflate_alloc_compressor"));
  auto compress = reinterpret_cast<Compress>(dlsym(lib, "libdeflate_gzip_compress"));
  auto bound = reinterpret_cast<Bound>(dlsym(lib, "libdeflate_gzip_compress_bound"));
  auto release = reinterpret_cast<Free>(dlsym(lib, "libdeflate_free_compressor"));
  if (!alloc || !compress || !bound || !release) return 1;
  void* kept = alloc(1);
  Time("libdeflate level 1 (the compressor kept)", body.size(), reps, [&] {
    out.resize(bound(kept, body.size()));
    return compress(kept, body.data(), body.size(), out.data(), out.size());
  });
  release(kept);
  for (int level : {1, 6}) {
    char name[64];
    std::snprintf(name, sizeof(name), "libdeflate level %d (a compressor per body)", level);
    Time(name, body.size(), reps, [&] {
      void* c = alloc(level);
      out.resize(bound(c, body.size()));
      size_t n = compress(c, body.data(), body.size(), out.data(), out.size());
      release(c);
      return n;
    });
  }
  return 0;
}
