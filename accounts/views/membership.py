# PLACEHOLDER: replaced by the membership workspace (helper). Must not land.
from django.http import Http404


def membership(request):
    raise Http404


purchase_maps = membership
