"""Named parts of MediaPipe's 468-point face mesh: indices into its points.

Rings are closed loops in order around the part (the eye rings start at the outer
corner and run along the lower lid first). After the mesh's points, the iris model adds
the centre of each iris (``eyes.EyeRefiner``), as MediaPipe's refined mesh does.
"""

from __future__ import annotations

RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
INNER_LIPS_RING = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
OUTER_LIPS_RING = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
NOSTRILS = (98, 327, 2, 97, 326, 94, 19, 64, 294, 48, 278, 240, 460)

MESH_POINTS = 468
# The iris centres (the subject's right, then left), after the mesh's own points.
RIGHT_IRIS, LEFT_IRIS = MESH_POINTS, MESH_POINTS + 1
EYES = ((RIGHT_EYE_RING, RIGHT_IRIS), (LEFT_EYE_RING, LEFT_IRIS))

# Outer eye corners (the subject's right, then left): they set the roll of a face.
RIGHT_EYE_CORNER, LEFT_EYE_CORNER = RIGHT_EYE_RING[0], LEFT_EYE_RING[0]
# Mouth corners (the subject's right, then left), on the outer lip ring.
MOUTH_CORNERS = (OUTER_LIPS_RING[0], OUTER_LIPS_RING[10])
# The smile folds (nasolabial), each from beside the nose wing down past the mouth corner
# (the subject's right, then left).
SMILE_FOLDS = ((142, 203, 206, 216, 212, 202, 204), (371, 423, 426, 436, 432, 422, 424))
