#pragma once
// The Head Atlas's OpenGL probe, run in a child process first (`headlab --probe-opengl`): a
// GL driver that crashes while creating a context (Debian 13's llvmpipe did, under Xvfb on a
// virtual CPU) then costs the child, not the window, and the atlas draws with the software
// painter. Plain header, no torch.
#include <QString>

namespace headlab::gui {

// The hidden option main() answers by probing and exiting: 0 when OpenGL works, 3 with the
// reason on stdout when it does not.
constexpr const char* kProbeOpenGlOption = "--probe-opengl";
int answerOpenGlProbe(int argc, char** argv);

// The probe for HeadAtlasGlCanvas::setDefaultProbe: the child first (at most 20 s), then the
// same probe in this process once the child has shown that it does not crash.
bool probeOpenGlInChildProcess(QString* why);

}  // namespace headlab::gui
