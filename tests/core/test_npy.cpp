#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.h"
#include "io/npy.h"
#include "npy_reader.h"
#include "io_test_util.h"

namespace fs = std::filesystem;
using headlab::InputError;
using headlab::testutil::read_npy;
using headlab::io::write_npy;
using headlab::test::read_bytes;
using headlab::test::ScratchDir;
using headlab::test::write_bytes;

namespace {

bool python_has_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

// Runs a Python snippet with the path as sys.argv[1]; true when it exits 0.
bool run_python(const std::string& code, const fs::path& path) {
  const std::string cmd = "/usr/bin/python3 -c \"" + code + "\" '" + path.string() + "'";
  return std::system(cmd.c_str()) == 0;
}

std::string npy_header_text(const std::string& bytes) {
  const size_t len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  return bytes.substr(10, len);
}

std::string rejection(const fs::path& path) {
  try {
    read_npy(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "<accepted>";
}

}  // namespace

TEST(Npy, RoundTripsFloat32AndInt64) {
  ScratchDir dir;
  torch::manual_seed(11);
  const std::vector<torch::Tensor> cases = {torch::randn({3, 5}), torch::arange(7, torch::kFloat32),
                                            torch::tensor(4.25f).reshape({}), torch::zeros({0, 4}),
                                            torch::arange(-3, 9, torch::kInt64).reshape({2, 2, 3})};
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const fs::path path = dir / ("t" + std::to_string(i) + ".npy");
    write_npy(path, cases[i]);
    const torch::Tensor back = read_npy(path);
    EXPECT_EQ(back.dtype(), cases[i].dtype());
    EXPECT_EQ(back.sizes(), cases[i].sizes());
    EXPECT_TRUE(torch::equal(back, cases[i]));
    EXPECT_EQ(read_bytes(path).size() % 64, (cases[i].numel() * cases[i].element_size()) % 64);
  }
}

TEST(Npy, WritesNumpyV1HeaderWithDataAlignedTo64) {
  ScratchDir dir;
  write_npy(dir / "a.npy", torch::ones({2, 3}));
  const std::string bytes = read_bytes(dir / "a.npy");
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::string header = npy_header_text(bytes);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u) << header;
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ((10 + header.size()) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + header.size() + 6 * 4);

  write_npy(dir / "b.npy", torch::arange(5));
  EXPECT_EQ(npy_header_text(read_bytes(dir / "b.npy"))
                .rfind("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", 0),
            0u);
}

TEST(Npy, VectorOverloadMatchesTensorOverload) {
  ScratchDir dir;
  const std::vector<float> values = {0.5f, -1.0f, 2.0f, 3.5f, -0.25f, 8.0f};
  write_npy(dir / "v.npy", values, {3, 2});
  write_npy(dir / "t.npy", torch::tensor(values).reshape({3, 2}));
  EXPECT_EQ(read_bytes(dir / "v.npy"), read_bytes(dir / "t.npy"));
  const torch::Tensor back = read_npy(dir / "v.npy");
  EXPECT_EQ(back.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(back[2][1].item<float>(), 8.0f);
  EXPECT_THROW(write_npy(dir / "x.npy", values, {4, 2}), std::invalid_argument);
  EXPECT_THROW(write_npy(dir / "x.npy", values, {-3, -2}), std::invalid_argument);
  EXPECT_THROW(write_npy(dir / "x.npy", torch::ones({2}, torch::kBool)), std::invalid_argument);
}

TEST(Npy, NumpyLoadsWhatWeWrite) {
  if (!python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  ScratchDir dir;
  write_npy(dir / "f.npy", torch::arange(12, torch::kFloat32).reshape({3, 4}) / 4);
  EXPECT_TRUE(
      run_python("import numpy, sys; a = numpy.load(sys.argv[1]); "
                 "assert a.dtype == numpy.float32 and a.shape == (3, 4), (a.dtype, a.shape); "
                 "assert (a == numpy.arange(12, dtype=numpy.float32).reshape(3, 4) / 4).all(), a",
                 dir / "f.npy"));
  write_npy(dir / "i.npy", torch::tensor(std::vector<int64_t>{-5, 0, int64_t{1} << 40}));
  EXPECT_TRUE(
      run_python("import numpy, sys; a = numpy.load(sys.argv[1]); "
                 "assert a.dtype == numpy.int64 and a.tolist() == [-5, 0, 2**40], a",
                 dir / "i.npy"));
  write_npy(dir / "s.npy", std::vector<float>{7.5f}, {});
  EXPECT_TRUE(run_python(
      "import numpy, sys; a = numpy.load(sys.argv[1]); assert a.shape == () and a == 7.5, a", dir / "s.npy"));
}

TEST(Npy, ReadsWhatNumpyWrites) {
  if (!python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  ScratchDir dir;
  ASSERT_TRUE(
      run_python("import numpy, sys; numpy.save(sys.argv[1], numpy.linspace(-1, 1, 10, "
                 "dtype=numpy.float32).reshape(2, 5))",
                 dir / "f.npy"));
  const torch::Tensor f = read_npy(dir / "f.npy");
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(torch::allclose(f.flatten(), torch::linspace(-1, 1, 10)));
  EXPECT_EQ(f[0][0].item<float>(), -1.0f);
  EXPECT_EQ(f[1][4].item<float>(), 1.0f);
  ASSERT_TRUE(
      run_python("import numpy, sys; numpy.save(sys.argv[1], numpy.arange(6, dtype='<i8').reshape(3, 2))",
                 dir / "i.npy"));
  EXPECT_TRUE(torch::equal(read_npy(dir / "i.npy"), torch::arange(6).reshape({3, 2})));
}

TEST(Npy, RejectsFilesItCannotRepresent) {
  ScratchDir dir;
  write_npy(dir / "good.npy", torch::ones({2, 2}));
  const std::string good = read_bytes(dir / "good.npy");
  const std::string header = npy_header_text(good);
  auto with_header = [&](const std::string& name, std::string replaced) {
    replaced.resize(header.size() - 1, ' ');
    replaced += '\n';
    write_bytes(dir / name, good.substr(0, 10) + replaced + good.substr(10 + header.size()));
    return dir / name;
  };

  write_bytes(dir / "text.npy", "hello, world");
  EXPECT_NE(rejection(dir / "text.npy").find("not an npy file"), std::string::npos);
  const std::string f8 =
      rejection(with_header("f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }"));
  EXPECT_NE(f8.find("unsupported npy dtype '<f8'"), std::string::npos) << f8;
  EXPECT_NE(f8.find("f8.npy"), std::string::npos) << f8;
  const std::string be =
      rejection(with_header("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }"));
  EXPECT_NE(be.find("'>f4'"), std::string::npos) << be;
  const std::string fortran =
      rejection(with_header("fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"));
  EXPECT_NE(fortran.find("Fortran"), std::string::npos) << fortran;
  const std::string big =
      rejection(with_header("big.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"));
  EXPECT_NE(big.find("truncated"), std::string::npos) << big;
  const std::string junk = rejection(with_header("junk.npy", "{'descr': '<f4', 'shape': (2, 2) 'x'}"));
  EXPECT_NE(junk.find("malformed npy header"), std::string::npos) << junk;
  write_bytes(dir / "cut.npy", good.substr(0, 40));
  EXPECT_NE(rejection(dir / "cut.npy").find("runs past the end"), std::string::npos);
}
